locals {
  # The archive is described by the sources, not by the zip bytes: Terraform hashes the files at plan
  # time, so a plan never needs the zip, and the zip's path carries the hash so that every distinct
  # source set gets its own file (content-addressed; concurrent applies never overwrite each other's).
  # The filter below must stay identical to is_excluded() in package.py.
  package_files = sort(flatten([
    for dir in var.package_dirs : [
      for file in fileset("${var.source_dir}/${dir}", "**") : "${dir}/${file}"
      if !anytrue([for part in split("/", file) : part == "__pycache__" || startswith(part, ".")]) && !endswith(file, ".pyc") && !endswith(file, ".pyo")
    ]
  ]))

  source_manifest = join("\n", concat(
    [for file in local.package_files : "${file} ${filesha256("${var.source_dir}/${file}")}"],
    var.custom_transform_file == null ? [] : ["custom_transform.py ${filesha256(var.custom_transform_file)}"],
    [for wheel in var.lambda_settings.bundled_wheels : "wheel ${basename(wheel)} ${filesha256(wheel)}"],
    # A change to the build rules changes the bytes, so it is part of the identity too.
    ["package.py ${filesha256("${path.module}/package.py")}"],
  ))
  source_hash = sha256(local.source_manifest)

  zip_path = "${path.module}/.build/${var.function_name}-${substr(local.source_hash, 0, 24)}.zip"

  # Lambda limits all environment variables of a function to 4 KB together (names plus values, UTF-8);
  # length(base64) * 3 / 4 bounds the byte count without a bytes-length function.
  # Powertools' Tracer needs aws_xray_sdk: AWS's Powertools layer carries it, the bundle does not (its wrapt
  # dependency is built per architecture). With the bundle, X-Ray shows Lambda's own segments only.
  environment = tomap(merge(var.environment_variables, {
    POWERTOOLS_SERVICE_NAME      = var.function_name
    POWERTOOLS_METRICS_NAMESPACE = var.lambda_settings.metrics_namespace
    POWERTOOLS_TRACE_DISABLED    = tostring(!(var.lambda_settings.tracing_enabled && length(var.lambda_settings.bundled_wheels) == 0))
  }))
  environment_bytes = length(base64encode(join("", [for k, v in local.environment : "${k}${v}"]))) * 3 / 4

  handler_file = "${join("/", slice(split(".", var.handler), 0, length(split(".", var.handler)) - 1))}.py"

  build_args = concat(
    [var.lambda_settings.python_executable, "${path.module}/package.py", "--source-dir", var.source_dir],
    flatten([for dir in var.package_dirs : ["--package", dir]]),
    var.custom_transform_file == null ? [] : ["--custom-transform", var.custom_transform_file],
    flatten([for wheel in var.lambda_settings.bundled_wheels : ["--wheel", wheel]]),
  )
}

resource "terraform_data" "package" {
  # The function name is a trigger too: renaming replaces the function, and the new function must be
  # created from a zip that exists on this machine.
  triggers_replace = [local.source_hash, var.function_name]

  provisioner "local-exec" {
    # The interpreter list carries every argument and the command is the output path, so nothing passes
    # through a shell: paths with spaces or quotes are safe, and it works the same on Windows.
    interpreter = local.build_args
    command     = local.zip_path
  }

  lifecycle {
    precondition {
      condition     = alltrue([for dir in var.package_dirs : length([for file in local.package_files : file if startswith(file, "${dir}/")]) > 0])
      error_message = "Every package directory must exist under ${var.source_dir} and contain files: ${join(", ", var.package_dirs)}."
    }
  }
}

check "handler_is_packaged" {
  assert {
    condition     = contains(local.package_files, local.handler_file) || contains(local.package_files, replace(local.handler_file, ".py", "/__init__.py"))
    error_message = "The handler ${var.handler} expects ${local.handler_file}, which is not among the packaged files."
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the caller's log_retention_days (default 30 days, every CloudWatch value allowed); a migration's logs are operational, and a year is the caller's choice, not a default.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.lambda_settings.log_retention_days
  kms_key_id        = var.lambda_settings.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A Lambda DLQ only receives failed asynchronous invocations. These functions are invoked synchronously (Step Functions lambda:invoke, event source mappings), whose failures their callers handle: state machine Retry/Catch, the stream mapping's on-failure queue, the FIFO queue's dead-letter queue.
  #checkov:skip=CKV_AWS_117:The functions talk only to AWS service endpoints (DynamoDB, SQS) and to no private network; a VPC would only add NAT or VPC endpoints to reach them.
  #checkov:skip=CKV_AWS_272:The zip is built from source at apply time (reproducible and content-addressed, with the user's transform), not uploaded as a signed artifact, so there is nothing for a Signer profile to verify.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (table names, limits, transform steps); Lambda encrypts it at rest with an AWS managed key, and a customer key here would only add KMS grants to every function update.
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  handler       = var.handler
  runtime       = var.lambda_settings.lambda_runtime
  architectures = [var.lambda_settings.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout
  layers        = var.lambda_settings.layers

  reserved_concurrent_executions = var.reserved_concurrent_executions

  filename = local.zip_path
  # Since provider 5.x this attribute is only a replacement trigger, so a hash of the sources (known at
  # plan time) does the job that a hash of the zip (known only after the build) used to do.
  source_code_hash = local.source_hash

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = var.lambda_settings.tracing_enabled ? "Active" : "PassThrough"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The environment variables of ${var.function_name} take about ${ceil(local.environment_bytes)} bytes; Lambda allows 4096 in total."
    }
  }

  depends_on = [
    terraform_data.package,
    # Created first so that Lambda does not create the group itself, without retention or key.
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
    # With tracing on, Lambda checks on create that the role may write to X-Ray.
    aws_iam_role_policy.xray,
  ]
}

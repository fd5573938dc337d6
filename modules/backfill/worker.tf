locals {
  worker_environment = merge(
    {
      SOURCE_TABLE                 = var.source_table_name
      TARGET_TABLE                 = var.target_table_name
      STATE_TABLE                  = aws_dynamodb_table.state.name
      DEFAULT_TOTAL_SEGMENTS       = tostring(var.total_segments)
      WRITE_CONCURRENCY            = tostring(var.worker.write_concurrency)
      MAX_WRITE_ATTEMPTS           = tostring(var.worker.max_write_attempts)
      BACKOFF_BASE_MS              = tostring(var.worker.backoff_base_ms)
      BACKOFF_CAP_MS               = tostring(var.worker.backoff_cap_ms)
      TIME_SAFETY_MARGIN_SECONDS   = tostring(var.worker.time_safety_margin_seconds)
      TRANSFORM_STEPS              = var.transform_steps_json
      CLEANUP_ALLOWED              = tostring(var.allow_target_cleanup)
      POWERTOOLS_SERVICE_NAME      = local.worker_name
      POWERTOOLS_METRICS_NAMESPACE = "ddb-migrate"
    },
    var.worker.scan_page_limit == null ? {} : { SCAN_PAGE_LIMIT = tostring(var.worker.scan_page_limit) },
    var.custom_transform_file == null ? {} : { TRANSFORM_MODULE = "custom_transform" },
  )

  # BatchGetItem serves the verify phase (consistent reads of both sides). The target needs Scan only for a
  # cleanup run, which scans the target for the keys to delete; an in-place run scans it anyway, as the source.
  target_actions = concat(
    ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"],
    var.allow_target_cleanup ? ["dynamodb:Scan"] : [],
  )

  worker_dynamodb_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadSourceTable"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"]
        Resource = data.aws_dynamodb_table.source.arn
      },
      {
        Sid      = "WriteTargetTable"
        Effect   = "Allow"
        Action   = local.target_actions
        Resource = data.aws_dynamodb_table.target.arn
      },
      {
        Sid      = "TrackRunState"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
        Resource = aws_dynamodb_table.state.arn
      },
    ]
  })

  # Tables encrypted with a customer managed key are only readable and writable by principals allowed to
  # use that key through DynamoDB; the kms:ViaService condition keeps the grant to that use.
  read_kms_keys  = compact([local.source_table_kms_key])
  write_kms_keys = distinct(compact([local.target_table_kms_key, var.kms_key_arn]))
  worker_kms_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.read_kms_keys) == 0 ? [] : [{
        Sid       = "DecryptSourceTable"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:DescribeKey"]
        Resource  = local.read_kms_keys
        Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
      }],
      length(local.write_kms_keys) == 0 ? [] : [{
        Sid       = "EncryptTargetAndStateTables"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource  = local.write_kms_keys
        Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
      }],
    )
  })
  worker_uses_kms = length(local.read_kms_keys) + length(local.write_kms_keys) > 0
}

module "worker" {
  source = "../lambda_function"

  function_name = local.worker_name
  description   = "ddb-migrate backfill worker of ${var.name}: plans runs and copies Scan segments."
  handler       = "backfill_worker.handler.lambda_handler"

  source_dir            = "${path.module}/../../lambda_src"
  package_dirs          = ["migration_core", "backfill_worker"]
  custom_transform_file = var.custom_transform_file
  python_executable     = var.python_executable

  runtime      = var.lambda_runtime
  architecture = var.architecture
  memory_size  = var.worker.memory_size
  timeout      = var.worker.timeout
  layers       = var.layers

  environment_variables = local.worker_environment

  policies = merge(
    { dynamodb = local.worker_dynamodb_policy },
    local.worker_uses_kms ? { kms = local.worker_kms_policy } : {},
  )

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  tracing_enabled    = var.tracing_enabled

  tags = var.tags
}

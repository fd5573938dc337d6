data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # Powertools for AWS Lambda (Python) v3 public layer. Version 27 is the latest the Powertools docs list
  # (docs/includes/_layer_homepage_*.md); which Powertools release it carries is AWS's choice.
  powertools_layer_version = 27
  powertools_layer_default = format(
    "arn:%s:lambda:%s:017000801446:layer:AWSLambdaPowertoolsPythonV3-%s-%s:%d",
    data.aws_partition.current.partition,
    data.aws_region.current.name,
    replace(var.lambda_runtime, ".", ""),
    var.architecture,
    local.powertools_layer_version,
  )
  powertools_layer_arn = var.powertools.source == "layer" ? coalesce(var.powertools.layer_arn, local.powertools_layer_default) : null
  lambda_layers        = compact([local.powertools_layer_arn])
  # The release the tests run (requirements/dev.lock pins the same versions; tests/unit/test_packaging.py checks).
  powertools_wheels = var.powertools.source == "bundle" ? [
    "${path.module}/modules/lambda_function/vendor/aws_lambda_powertools-3.37.0-py3-none-any.whl",
    "${path.module}/modules/lambda_function/vendor/typing_extensions-4.16.0-py3-none-any.whl",
  ] : []

  # The declarative steps as the Lambdas read them (TRANSFORM_STEPS): only the fields of each op, and the
  # set value as a JSON object rather than a string. Shared by every part that transforms items.
  transform_steps = [
    for step in var.transform.steps : merge(
      { op = step.op, attribute = step.attribute },
      step.op == "set" ? { value = jsondecode(step.value) } : {},
      step.op == "rename" ? { to = step.to } : {},
      step.op == "derive" ? { template = step.template } : {},
      step.op == "timestamp" ? { format = coalesce(step.format, "iso8601") } : {},
    )
  ]
  transform_steps_json = jsonencode(local.transform_steps)

  # Every module that owns Lambdas takes these as its lambda_settings object; only the root variables validate them.
  lambda_settings = {
    layers             = local.lambda_layers
    bundled_wheels     = local.powertools_wheels
    lambda_runtime     = var.lambda_runtime
    architecture       = var.architecture
    python_executable  = var.python_executable
    log_retention_days = var.log_retention_days
    kms_key_arn        = var.kms_key_arn
    tracing_enabled    = var.tracing_enabled
  }
}

# Bulk copy of the existing items: a Step Functions Distributed Map over parallel Scan segments.
# The change feed (modules/replication) and capacity management join here as sibling modules that take
# the same table names, transform and lambda_settings.
module "backfill" {
  source = "./modules/backfill"

  name              = var.name
  source_table_name = var.source_table_name
  target_table_name = var.target_table_name
  target_account    = var.target_account

  total_segments               = var.total_segments
  max_concurrency              = var.max_concurrency
  tolerated_failure_percentage = var.tolerated_failure_percentage
  worker                       = var.worker
  allow_target_cleanup         = var.allow_target_cleanup
  prewarm                      = var.prewarm

  transform_steps_json  = local.transform_steps_json
  custom_transform_file = var.transform.custom_file

  lambda_settings = local.lambda_settings
  tags            = var.tags
}

# Live replication (the change feed): source stream -> forwarder -> FIFO queue -> consumer -> target. Off unless
# replication.enabled; it applies the backfill's transform (same TRANSFORM_STEPS and custom file), so the two
# paths produce the same target items.
module "replication" {
  source = "./modules/replication"
  count  = var.replication.enabled ? 1 : 0

  name              = var.name
  source_table_name = var.source_table_name
  target_table_name = var.target_table_name
  target_account    = var.target_account

  cutoff_timestamp = var.replication.cutoff_timestamp
  consumer_enabled = var.replication.consumer_enabled

  stream_batch_size                         = var.replication.stream_batch_size
  stream_parallelization_factor             = var.replication.stream_parallelization_factor
  stream_maximum_batching_window_in_seconds = var.replication.stream_maximum_batching_window_in_seconds
  stream_bisect_batch_on_function_error     = var.replication.stream_bisect_batch_on_function_error
  stream_maximum_retry_attempts             = var.replication.stream_maximum_retry_attempts
  stream_maximum_record_age_in_seconds      = var.replication.stream_maximum_record_age_in_seconds

  queue_message_retention_seconds  = var.replication.queue_message_retention_seconds
  queue_visibility_timeout_seconds = var.replication.queue_visibility_timeout_seconds
  high_throughput_fifo             = var.replication.high_throughput_fifo
  max_receive_count                = var.replication.max_receive_count
  max_message_bytes                = var.replication.max_message_bytes

  consumer_batch_size          = var.replication.consumer_batch_size
  consumer_maximum_concurrency = var.replication.consumer_maximum_concurrency

  forwarder = var.replication.forwarder
  consumer  = var.replication.consumer

  transform_steps_json  = local.transform_steps_json
  custom_transform_file = var.transform.custom_file

  lambda_settings = local.lambda_settings
  tags            = var.tags
}

locals {
  # Every role that calls the target table, with the actions it calls: what a target in another account allows.
  target_callers = merge(
    { worker = { role_arn = module.backfill.worker_role_arn, actions = module.backfill.target_table_actions } },
    var.replication.enabled ? {
      forwarder = {
        role_arn = module.replication[0].forwarder_role_arn
        actions  = module.replication[0].forwarder_target_table_actions
      }
      consumer = {
        role_arn = module.replication[0].consumer_role_arn
        actions  = module.replication[0].consumer_target_table_actions
      }
    } : {},
  )
  target_table_arn = module.backfill.target_table_arn
  target_role_arn  = try(var.target_account.role_arn, null)

  # For the target's account, whichever way it grants access (see variable target_account).
  cross_account = var.target_account == null ? null : {
    target_table_arn = local.target_table_arn
    role_arn         = local.target_role_arn
    external_id      = var.target_account.external_id
    principal_arns   = [for caller in values(local.target_callers) : caller.role_arn]
    role_trust_policy_json = local.target_role_arn == null ? null : jsonencode({
      Version = "2012-10-17"
      Statement = [merge(
        {
          Sid       = "MigrationLambdas"
          Effect    = "Allow"
          Principal = { AWS = [for caller in values(local.target_callers) : caller.role_arn] }
          Action    = "sts:AssumeRole"
        },
        var.target_account.external_id == null ? {} : {
          Condition = { StringEquals = { "sts:ExternalId" = var.target_account.external_id } }
        },
      )]
    })
    role_policy_json = local.target_role_arn == null ? null : jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid      = "MigrateIntoTargetTable"
        Effect   = "Allow"
        Action   = sort(distinct(flatten([for caller in values(local.target_callers) : caller.actions])))
        Resource = local.target_table_arn
      }]
    })
    # One statement per caller, each with only the actions that caller makes.
    table_resource_policy_json = local.target_role_arn != null ? null : jsonencode({
      Version = "2012-10-17"
      Statement = [for name, caller in local.target_callers : {
        Sid       = "DdbMigrate${title(name)}"
        Effect    = "Allow"
        Principal = { AWS = caller.role_arn }
        Action    = caller.actions
        Resource  = local.target_table_arn
      }]
    })
  }
}

# CloudWatch alarms on whatever is deployed; off unless alarms.enabled. Each feature goes in as one object that
# is null while the feature is off: which alarms exist must be known at plan time, and the queue ARNs are not
# known until the queues exist.
module "alarms" {
  source = "./modules/alarms"
  count  = var.alarms.enabled ? 1 : 0

  name = var.name

  backfill = {
    state_machine_arn    = module.backfill.state_machine_arn
    worker_function_name = module.backfill.worker_function_name
  }

  replication = var.replication.enabled ? {
    dlq_arn                  = try(module.replication[0].dlq_arn, null)
    stream_failure_queue_arn = try(module.replication[0].stream_failure_queue_arn, null)
    forwarder_function_name  = try(module.replication[0].forwarder_function_name, null)
    consumer_function_name   = try(module.replication[0].consumer_function_name, null)
  } : null

  alarm_actions             = compact([var.alarms.sns_topic_arn])
  ok_actions                = var.alarms.notify_ok ? compact([var.alarms.sns_topic_arn]) : []
  iterator_age_threshold_ms = var.alarms.iterator_age_threshold_seconds * 1000
  period_seconds            = var.alarms.period_seconds
  evaluation_periods        = var.alarms.evaluation_periods

  tags = var.tags
}

# A CloudWatch dashboard of the migration; dashboard.enabled unset follows alarms.enabled (see the variable).
module "dashboard" {
  source = "./modules/dashboard"
  count  = coalesce(var.dashboard.enabled, var.alarms.enabled) ? 1 : 0

  dashboard_name = coalesce(var.dashboard.name, "${var.name}-migration")
  region         = data.aws_region.current.name
  partition      = data.aws_partition.current.partition

  backfill = {
    state_machine_arn    = module.backfill.state_machine_arn
    worker_function_name = module.backfill.worker_function_name
    worker_service       = module.backfill.worker_environment_variables["POWERTOOLS_SERVICE_NAME"]
  }

  replication = var.replication.enabled ? {
    queue_name                = try(module.replication[0].queue_name, null)
    dlq_name                  = try(module.replication[0].dlq_name, null)
    stream_failure_queue_name = try(module.replication[0].stream_failure_queue_name, null)
    forwarder_function_name   = try(module.replication[0].forwarder_function_name, null)
    forwarder_service         = try(module.replication[0].forwarder_environment_variables["POWERTOOLS_SERVICE_NAME"], null)
    consumer_function_name    = try(module.replication[0].consumer_function_name, null)
    consumer_service          = try(module.replication[0].consumer_environment_variables["POWERTOOLS_SERVICE_NAME"], null)
  } : null

  # The line the forwarder's alarm fires at, where there is one.
  iterator_age_alarm_ms = var.alarms.enabled ? var.alarms.iterator_age_threshold_seconds * 1000 : null
}

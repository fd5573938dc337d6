data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

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

  # The transform as every module that transforms items takes it: TRANSFORM_STEPS and the custom file.
  transform = {
    steps_json  = local.transform_steps_json
    custom_file = var.transform.custom_file
  }

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
    # The CloudWatch namespace of every ddb-migrate metric (docs/OBSERVABILITY.md), which the dashboard reads.
    metrics_namespace = "ddb-migrate"
  }
}

# Bulk copy of the existing items: a Step Functions Distributed Map over parallel Scan segments, or over the data
# files of a point-in-time export of the source (variable export).
# The change feed (modules/replication) joins here as a sibling module that takes the same tables, transform and
# lambda_settings. Both take the root's variables as they are: their types, defaults and validations live here.
module "backfill" {
  source = "./modules/backfill"

  name         = var.name
  source_table = local.source_table
  target_table = local.target_table

  total_segments               = var.total_segments
  max_concurrency              = var.max_concurrency
  tolerated_failure_percentage = var.tolerated_failure_percentage
  worker                       = var.worker
  allow_target_cleanup         = var.allow_target_cleanup
  prewarm                      = var.prewarm
  capacity_budget              = var.capacity_budget
  export                       = local.export

  transform       = local.transform
  lambda_settings = local.lambda_settings
  # ERROR logs the failures only; modules/backfill takes ALL in tests/terraform, which records execution data.
  state_machine_log_level = "ERROR"
  tags                    = var.tags
}

# The bucket a backfill from a point-in-time export writes into, when export is on and the user names none.
module "export_bucket" {
  source = "./modules/export_bucket"
  count  = var.export.enabled && var.export.bucket_name == null ? 1 : 0

  name          = var.name
  prefix        = local.export_prefix
  expiry_days   = var.export.expiry_days
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.export.force_destroy
  tags          = var.tags
}

locals {
  # Each deployment exports under its own prefix, so that several can share a bucket of the user's.
  export_prefix      = "${var.export.prefix}/${var.name}"
  export_bucket_here = var.export.enabled && var.export.bucket_name == null
  # What modules/backfill knows of the export: the bucket (the created one or the user's), its owner (null: this
  # account), the deployment's prefix, and the key the bucket's objects are encrypted with, which the worker
  # uses through S3 (the created bucket's is the root kms_key_arn). The bucket's name is known only after
  # apply when the module creates it.
  export = {
    enabled    = var.export.enabled
    by_default = var.export.by_default
    bucket_name = (!var.export.enabled ? null
      : local.export_bucket_here ? one(module.export_bucket[*].bucket_name) : var.export.bucket_name
    )
    bucket_arn = (!var.export.enabled ? null
      : local.export_bucket_here ? one(module.export_bucket[*].bucket_arn) : "arn:${data.aws_partition.current.partition}:s3:::${var.export.bucket_name}"
    )
    bucket_owner = var.export.enabled ? var.export.bucket_owner : null
    prefix       = var.export.enabled ? local.export_prefix : null
    kms_key_arn  = !var.export.enabled ? null : local.export_bucket_here ? var.kms_key_arn : var.export.kms_key_arn
    poll_seconds = var.export.poll_seconds
  }
}

# Live replication (the change feed): source stream -> forwarder -> FIFO queue -> consumer -> target. Off unless
# replication.enabled; it applies the backfill's transform (same TRANSFORM_STEPS and custom file), so the two
# paths produce the same target items.
module "replication" {
  source = "./modules/replication"
  count  = var.replication.enabled ? 1 : 0

  name         = var.name
  source_table = local.source_table
  target_table = local.target_table
  replication  = var.replication

  transform       = local.transform
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
      Statement = [
        {
          Sid      = "MigrateIntoTargetTable"
          Effect   = "Allow"
          Action   = sort(distinct(flatten([for caller in values(local.target_callers) : caller.actions])))
          Resource = local.target_table_arn
        },
        {
          # The plan reads the target's auto-scaling maximum, which a budget given as a share is of (without it,
          # the share is of the provisioned capacity). The action supports no resource-level permissions.
          Sid      = "ReadTargetAutoScaling"
          Effect   = "Allow"
          Action   = "application-autoscaling:DescribeScalableTargets"
          Resource = "*"
        },
      ]
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

  dashboard_name    = coalesce(var.dashboard.name, "${var.name}-migration")
  metrics_namespace = local.lambda_settings.metrics_namespace
  region            = data.aws_region.current.name
  partition         = data.aws_partition.current.partition

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

# The source and target tables, each read once here and handed to the modules as values: reading a table turns
# a typo into a plan-time error that names it, and gives its exact ARN, stream and key. A target in another
# account is not readable with this account's credentials, nor one in another region without a provider of that
# region (which a module must not configure); its ARN is built instead.

data "aws_dynamodb_table" "source" {
  name = var.source_table_name

  lifecycle {
    precondition {
      condition     = !var.replication.enabled || !local.target_table_here || var.source_table_name != var.target_table_name
      error_message = "Replication needs a target table other than the source (${var.source_table_name}): the consumer's writes to the source would come back through its stream. For an in-place migration, run the backfill alone."
    }

    # Replication reads the stream: the plan refuses a source whose stream cannot serve it.
    postcondition {
      condition     = !var.replication.enabled || (self.stream_enabled == true && try(length(self.stream_arn) > 0, false))
      error_message = "DynamoDB Streams is not enabled on the source table ${var.source_table_name}. Enable it with view type NEW_AND_OLD_IMAGES (aws dynamodb update-table --table-name ${var.source_table_name} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES, or stream_enabled = true and stream_view_type = \"NEW_AND_OLD_IMAGES\" on its aws_dynamodb_table), then plan again."
    }

    postcondition {
      condition     = !var.replication.enabled || self.stream_enabled != true || self.stream_view_type == "NEW_AND_OLD_IMAGES"
      error_message = "The stream of the source table ${var.source_table_name} has view type ${coalesce(self.stream_view_type, "(none)")}, but replication needs NEW_AND_OLD_IMAGES: the consumer puts the new image and deletes the keys derived from the old one. A stream's view type cannot be changed: disable the stream, enable it again with StreamViewType=NEW_AND_OLD_IMAGES (a new stream ARN; the old stream's records stay readable for 24 hours), then plan again."
    }
  }
}

data "aws_dynamodb_table" "target" {
  count = local.target_table_here ? 1 : 0

  name = var.target_table_name
}

locals {
  # Customer managed key of each table read here (null for AWS owned/managed encryption): reading or writing a
  # table (or its stream) encrypted with one needs kms:Decrypt on it.
  read_table_kms_keys = {
    for role, table in { source = data.aws_dynamodb_table.source, target = one(data.aws_dynamodb_table.target) } :
    role => try(one([for sse in table.server_side_encryption : sse.kms_key_arn if sse.enabled]), null)
  }

  target_in_other_account = var.target_account != null
  # Naming the provider's own region is the same as leaving target_region unset.
  target_region          = coalesce(var.target_region, data.aws_region.current.name)
  target_in_other_region = local.target_region != data.aws_region.current.name
  # Whether the target is readable here, in this account and region: then it is read, else its ARN is built.
  target_table_here = !local.target_in_other_account && !local.target_in_other_region
  target_role_arn   = try(var.target_account.role_arn, null)
  target_table_arn = (local.target_table_here
    ? one(data.aws_dynamodb_table.target[*].arn)
    : format(
      "arn:%s:dynamodb:%s:%s:table/%s",
      data.aws_partition.current.partition,
      local.target_region,
      local.target_in_other_account ? var.target_account.account_id : data.aws_caller_identity.current.account_id,
      var.target_table_name,
    )
  )

  # What modules/backfill and modules/replication know of the source table.
  source_table = {
    name           = var.source_table_name
    arn            = data.aws_dynamodb_table.source.arn
    stream_arn     = data.aws_dynamodb_table.source.stream_arn
    hash_key       = data.aws_dynamodb_table.source.hash_key
    range_key      = data.aws_dynamodb_table.source.range_key
    kms_key_arn    = local.read_table_kms_keys.source
    same_as_target = local.target_table_here && var.source_table_name == var.target_table_name
  }

  # How the parts that call the target table reach it: in this account and region by its name; elsewhere by its
  # ARN (DynamoDB reaches another account's table only that way, and in another region the ARN keeps it apart
  # from a source of the same name), with their own credentials or an assumed role's, and with clients of the
  # target's region.
  target_table = {
    name             = var.target_table_name
    arn              = local.target_table_arn
    in_other_account = local.target_in_other_account
    region           = local.target_region
    in_other_region  = local.target_in_other_region
    # Role the callers assume for every call on the target, or null when they call it with their own credentials.
    role_arn = local.target_role_arn
    # Through an assumed role the role's own policy covers the target's key; otherwise the callers' roles need it.
    # A target in another region of this account is not read, so its key is not known (README, Known limits).
    kms_key_arn = (local.target_in_other_account
      ? (local.target_role_arn == null ? try(var.target_account.kms_key_arn, null) : null)
      : local.read_table_kms_keys.target
    )
    # What a Lambda needs to reach the target (migration_core.target_access): TARGET_TABLE, the name it calls
    # the table by (its ARN when in another account or region), TARGET_REGION when its clients of the target
    # must be of another region, and TARGET_ROLE_ARN / TARGET_ROLE_EXTERNAL_ID when a role is assumed.
    lambda_environment = merge(
      { TARGET_TABLE = local.target_table_here ? var.target_table_name : local.target_table_arn },
      local.target_in_other_region ? { TARGET_REGION = local.target_region } : {},
      local.target_role_arn == null ? {} : { TARGET_ROLE_ARN = local.target_role_arn },
      try(var.target_account.external_id, null) == null ? {} : { TARGET_ROLE_EXTERNAL_ID = var.target_account.external_id },
    )
    # The IAM statement that lets a caller assume role_arn (null without a role): its only permission on the target.
    assume_role_statement = local.target_role_arn == null ? null : {
      Sid      = "AssumeTargetAccountRole"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole"]
      Resource = local.target_role_arn
    }
  }
}

locals {
  consumer_environment = merge(
    {
      SOURCE_TABLE               = var.source_table.name
      MAX_WRITE_ATTEMPTS         = tostring(var.replication.consumer.max_attempts)
      BACKOFF_BASE_MS            = tostring(var.replication.consumer.backoff_base_ms)
      BACKOFF_CAP_MS             = tostring(var.replication.consumer.backoff_cap_ms)
      TIME_SAFETY_MARGIN_SECONDS = tostring(var.replication.consumer.time_safety_margin_seconds)
    },
    var.replication.cutoff_timestamp == null ? {} : { CUTOFF_TIMESTAMP = var.replication.cutoff_timestamp },
    local.transform_environment,
    var.target_table.lambda_environment,
  )

  consumer_target_actions = ["dynamodb:DescribeTable", "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]

  consumer_policies = merge(
    {
      sqs = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          # What the SQS event source mapping does with the function's role.
          Sid      = "ConsumeReplicationQueue"
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
          Resource = aws_sqs_queue.replication.arn
        }]
      })
      dynamodb = jsonencode({
        Version = "2012-10-17"
        Statement = [
          var.target_table.role_arn == null ? {
            Sid      = "ApplyToTargetTable"
            Effect   = "Allow"
            Action   = local.consumer_target_actions
            Resource = var.target_table.arn
          } : var.target_table.assume_role_statement,
          {
            # Consistent reads of the current item for messages sent without their images (oversize records,
            # DLQ redrives).
            Sid      = "RereadSourceItems"
            Effect   = "Allow"
            Action   = "dynamodb:GetItem"
            Resource = local.source_table_arn
          },
        ]
      })
    },
    length(local.consumer_kms_statements) == 0 ? {} : {
      kms = jsonencode({
        Version   = "2012-10-17"
        Statement = local.consumer_kms_statements
      })
    },
  )

  consumer_kms_statements = concat(
    var.lambda_settings.kms_key_arn == null ? [] : [{
      Sid       = "DecryptQueueMessages"
      Effect    = "Allow"
      Action    = "kms:Decrypt"
      Resource  = var.lambda_settings.kms_key_arn
      Condition = local.sqs_via_service
    }],
    var.source_table.kms_key_arn == null ? [] : [{
      Sid       = "DecryptSourceTable"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:DescribeKey"]
      Resource  = var.source_table.kms_key_arn
      Condition = local.dynamodb_via_service
    }],
    var.target_table.kms_key_arn == null ? [] : [{
      Sid      = "UseTargetTableKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:DescribeKey"]
      Resource = var.target_table.kms_key_arn
      # The target's own region: DynamoDB uses a key of the table's region (variable target_region).
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${var.target_table.region}.amazonaws.com" } }
    }],
  )
}

module "consumer" {
  source = "../lambda_function"

  function_name = local.consumer_name
  description   = "ddb-migrate replication consumer of ${var.name}: applies the FIFO queue's changes to ${var.target_table.name}."
  handler       = "replication_consumer.handler.lambda_handler"

  source_dir            = local.lambda_package_directory
  package_dirs          = ["migration_core", "replication_consumer"]
  custom_transform_file = var.transform.custom_file
  lambda_settings       = var.lambda_settings

  memory_size = var.replication.consumer.memory_size
  timeout     = var.replication.consumer.timeout

  environment_variables = local.consumer_environment
  policies              = local.consumer_policies

  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "consumer" {
  event_source_arn = aws_sqs_queue.replication.arn
  function_name    = module.consumer.function_arn
  batch_size       = var.replication.consumer_batch_size

  # false buffers the change feed in the queue (a backfill is running). Terraform is authoritative over this
  # flag: `ddb-migrate replication pause|resume` changes it at run time, and the next apply sets it back to
  # var.replication.consumer_enabled (the plan shows the change), so set the variable to match after using the CLI.
  # Not ignore_changes: then a later consumer_enabled = false would silently not pause a running consumer, and
  # a consumer running during a backfill can let the backfill overwrite newer changes with older images.
  enabled = var.replication.consumer_enabled

  # The consumer stops a message group at its first failure and reports that message and the rest of the group.
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.replication.consumer_maximum_concurrency == null ? [] : [var.replication.consumer_maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  # Creating the mapping checks that the role can receive from the queue.
  depends_on = [module.consumer]
}

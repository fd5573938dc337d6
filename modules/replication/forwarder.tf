locals {
  forwarder_target_actions = ["dynamodb:DescribeTable"]

  forwarder_environment = merge(
    {
      QUEUE_URL = aws_sqs_queue.replication.url
      # The queue's own limit: a record that does not fit is sent without its images (the consumer re-reads
      # the source), never truncated or dropped.
      MAX_MESSAGE_BYTES = tostring(var.replication.max_message_bytes)
      # Only for records too large even without NewImage: the forwarder then derives the old target keys itself,
      # which needs the target's key schema (DescribeTable) and the transform.
      MAX_WRITE_ATTEMPTS         = tostring(var.replication.forwarder.max_attempts)
      BACKOFF_BASE_MS            = tostring(var.replication.forwarder.backoff_base_ms)
      BACKOFF_CAP_MS             = tostring(var.replication.forwarder.backoff_cap_ms)
      TIME_SAFETY_MARGIN_SECONDS = tostring(var.replication.forwarder.time_safety_margin_seconds)
    },
    local.transform_environment,
    var.target_table.lambda_environment,
  )

  forwarder_policies = merge(
    {
      stream = jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Sid      = "ReadSourceStream"
            Effect   = "Allow"
            Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
            Resource = local.stream_arn
          },
          {
            Sid    = "ListStreams"
            Effect = "Allow"
            Action = "dynamodb:ListStreams"
            # ListStreams supports no resource-level permissions: AWS accepts only "*" for it.
            Resource = "*"
          },
        ]
      })
      sqs = jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Sid      = "SendToReplicationQueue"
            Effect   = "Allow"
            Action   = "sqs:SendMessage"
            Resource = aws_sqs_queue.replication.arn
          },
          {
            # The stream mapping sends its on-failure records with the function's role.
            Sid      = "SendStreamFailures"
            Effect   = "Allow"
            Action   = "sqs:SendMessage"
            Resource = aws_sqs_queue.stream_failures.arn
          },
        ]
      })
      dynamodb = jsonencode({
        Version = "2012-10-17"
        Statement = [var.target_table.role_arn == null ? {
          Sid      = "ReadTargetKeySchema"
          Effect   = "Allow"
          Action   = local.forwarder_target_actions
          Resource = var.target_table.arn
        } : var.target_table.assume_role_statement]
      })
    },
    length(local.forwarder_kms_statements) == 0 ? {} : {
      kms = jsonencode({
        Version   = "2012-10-17"
        Statement = local.forwarder_kms_statements
      })
    },
  )

  forwarder_kms_statements = concat(
    var.lambda_settings.kms_key_arn == null ? [] : [{
      # Sending to an SSE-KMS queue (and the mapping's on-failure sends) needs a data key.
      Sid       = "EncryptQueueMessages"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = var.lambda_settings.kms_key_arn
      Condition = local.sqs_via_service
    }],
    var.source_table.kms_key_arn == null ? [] : [{
      # A table encrypted with a customer managed key encrypts its stream with the same key.
      Sid       = "DecryptSourceStream"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:DescribeKey"]
      Resource  = var.source_table.kms_key_arn
      Condition = local.dynamodb_via_service
    }],
  )
}

module "forwarder" {
  source = "../lambda_function"

  function_name = local.forwarder_name
  description   = "ddb-migrate stream forwarder of ${var.name}: ${var.source_table.name} stream to the FIFO queue, in per-item order."
  handler       = "stream_forwarder.handler.lambda_handler"

  source_dir            = local.lambda_package_directory
  package_dirs          = ["migration_core", "stream_forwarder"]
  custom_transform_file = var.transform.custom_file
  lambda_settings       = var.lambda_settings

  memory_size = var.replication.forwarder.memory_size
  timeout     = var.replication.forwarder.timeout

  environment_variables = local.forwarder_environment
  policies              = local.forwarder_policies

  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "forwarder" {
  event_source_arn = local.stream_arn
  function_name    = module.forwarder.function_arn
  # Always on: the CLI pauses only the consumer, and a stopped forwarder lets changes age out of the stream.
  enabled = true

  # The oldest record still in the stream (up to 24 h back): LATEST could miss the changes made while the
  # mapping is being created. Replaying older records is harmless: they re-apply full images in per-item
  # order, and the consumer drops the ones before the cutoff.
  starting_position = "TRIM_HORIZON"

  batch_size                         = var.replication.stream_batch_size
  maximum_batching_window_in_seconds = var.replication.stream_maximum_batching_window_in_seconds
  parallelization_factor             = var.replication.stream_parallelization_factor
  bisect_batch_on_function_error     = var.replication.stream_bisect_batch_on_function_error
  maximum_retry_attempts             = var.replication.stream_maximum_retry_attempts
  maximum_record_age_in_seconds      = var.replication.stream_maximum_record_age_in_seconds

  # The forwarder names the first record it could not send; Lambda checkpoints before it and retries from there.
  function_response_types = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.stream_failures.arn
    }
  }

  # Creating the mapping checks that the role can read the stream and send to the destination.
  depends_on = [module.forwarder]
}

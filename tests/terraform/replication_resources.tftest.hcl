# modules/replication planned on its own (so the runs can read its resources): event source mappings, queues,
# Lambda environments and least-privilege IAM. An internal module takes the root module's values whole, defaults
# applied: the file's variables are what the root passes for demo/orders/orders-v2 with replication.enabled,
# and each run changes them with merge(). The tables' own customer managed keys (server_side_encryption of
# the aws_dynamodb_table data sources) take the same path as the backfill's and cannot be mocked: mocked data
# sources do not carry that nested block. Needs `terraform init -test-directory=tests/terraform`, which
# installs the modules that run blocks name.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

override_resource {
  override_during = plan
  target          = module.forwarder.aws_lambda_function.this
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:demo-stream-forwarder"
  }
}

override_resource {
  override_during = plan
  target          = module.consumer.aws_lambda_function.this
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:demo-replication-consumer"
  }
}

variables {
  source_table = {
    name        = "orders"
    arn         = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    stream_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    kms_key_arn = null
  }
  target_table = {
    name                  = "orders-v2"
    arn                   = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    role_arn              = null
    kms_key_arn           = null
    lambda_environment    = { TARGET_TABLE = "orders-v2" }
    assume_role_statement = null
  }
  replication = {
    enabled                                   = true
    consumer_enabled                          = true
    cutoff_timestamp                          = null
    stream_batch_size                         = 100
    stream_parallelization_factor             = 1
    stream_maximum_batching_window_in_seconds = 0
    stream_bisect_batch_on_function_error     = false
    stream_maximum_retry_attempts             = -1
    stream_maximum_record_age_in_seconds      = -1
    queue_message_retention_seconds           = 1209600
    queue_visibility_timeout_seconds          = null
    high_throughput_fifo                      = true
    max_receive_count                         = 5
    max_message_bytes                         = 262144
    consumer_batch_size                       = 10
    consumer_maximum_concurrency              = null
    forwarder = {
      memory_size                = 256, timeout = 60, max_attempts = 8, backoff_base_ms = 50, backoff_cap_ms = 5000
      time_safety_margin_seconds = 10
    }
    consumer = {
      memory_size                = 256, timeout = 60, max_attempts = 8, backoff_base_ms = 50, backoff_cap_ms = 5000
      time_safety_margin_seconds = 10
    }
  }
  transform = { steps_json = "[]", custom_file = null }
  tags      = {}
}

run "stream_mapping_never_skips_a_record" {
  command = plan

  module {
    source = "./modules/replication"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.forwarder.event_source_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000" &&
      aws_lambda_event_source_mapping.forwarder.function_name == "arn:aws:lambda:us-east-1:123456789012:function:demo-stream-forwarder"
    )
    error_message = "The stream mapping must connect the source stream to the forwarder."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.starting_position == "TRIM_HORIZON"
    error_message = "The stream mapping must start at TRIM_HORIZON: LATEST can miss changes made while it is created."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The stream mapping must use ReportBatchItemFailures."
  }

  assert {
    condition = [
      aws_lambda_event_source_mapping.forwarder.batch_size,
      aws_lambda_event_source_mapping.forwarder.parallelization_factor,
      aws_lambda_event_source_mapping.forwarder.maximum_batching_window_in_seconds,
      aws_lambda_event_source_mapping.forwarder.maximum_retry_attempts,
      aws_lambda_event_source_mapping.forwarder.maximum_record_age_in_seconds,
    ] == [100, 1, 0, -1, -1]
    error_message = "Unexpected stream mapping defaults: batch 100, factor 1, window 0, retries and record age -1 (until the record expires)."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.bisect_batch_on_function_error == false
    error_message = "Bisecting is off by default: ReportBatchItemFailures already names the record to retry from."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures"
    error_message = "Records that still fail must go to the standard stream failure queue."
  }
}

run "stream_mapping_settings_are_configurable" {
  command = plan

  module {
    source = "./modules/replication"
  }

  variables {
    replication = merge(var.replication, {
      stream_batch_size                         = 10000
      stream_parallelization_factor             = 10
      stream_maximum_batching_window_in_seconds = 5
      stream_bisect_batch_on_function_error     = true
      stream_maximum_retry_attempts             = 10000
      stream_maximum_record_age_in_seconds      = 604800
    })
  }

  assert {
    condition = [
      aws_lambda_event_source_mapping.forwarder.batch_size,
      aws_lambda_event_source_mapping.forwarder.parallelization_factor,
      aws_lambda_event_source_mapping.forwarder.maximum_batching_window_in_seconds,
      aws_lambda_event_source_mapping.forwarder.maximum_retry_attempts,
      aws_lambda_event_source_mapping.forwarder.maximum_record_age_in_seconds,
    ] == [10000, 10, 5, 10000, 604800]
    error_message = "The stream mapping settings must follow the variables."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.bisect_batch_on_function_error
    error_message = "stream_bisect_batch_on_function_error must reach the mapping."
  }
}

run "fifo_queue_settings" {
  command = plan

  module {
    source = "./modules/replication"
  }

  assert {
    condition = (
      aws_sqs_queue.replication.name == "demo-replication.fifo" &&
      aws_sqs_queue.replication.fifo_queue &&
      aws_sqs_queue.replication.content_based_deduplication == false
    )
    error_message = "The replication queue must be FIFO without content-based deduplication (the forwarder sets eventID)."
  }

  assert {
    condition     = aws_sqs_queue.replication.deduplication_scope == "messageGroup" && aws_sqs_queue.replication.fifo_throughput_limit == "perMessageGroupId"
    error_message = "High-throughput FIFO must be on by default."
  }

  assert {
    condition     = aws_sqs_queue.replication.sqs_managed_sse_enabled == true && aws_sqs_queue.replication.kms_master_key_id == null
    error_message = "Without a KMS key the queue must use SSE-SQS."
  }

  assert {
    condition     = aws_sqs_queue.replication.message_retention_seconds == 1209600 && aws_sqs_queue.replication.max_message_size == 262144
    error_message = "The queue keeps messages 14 days by default and accepts 256 KiB messages."
  }

  assert {
    condition     = aws_sqs_queue.replication.visibility_timeout_seconds == 360 && aws_sqs_queue.replication.visibility_timeout_seconds >= 6 * 60
    error_message = "The visibility timeout must be 6 x the consumer's 60 s timeout, got ${aws_sqs_queue.replication.visibility_timeout_seconds}."
  }

  assert {
    condition = jsondecode(aws_sqs_queue.replication.redrive_policy) == {
      deadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:demo-replication-dlq.fifo"
      maxReceiveCount     = 5
    }
    error_message = "Unexpected redrive policy: ${aws_sqs_queue.replication.redrive_policy}"
  }

  assert {
    condition = (
      aws_sqs_queue.dlq.name == "demo-replication-dlq.fifo" &&
      aws_sqs_queue.dlq.fifo_queue &&
      aws_sqs_queue.dlq.sqs_managed_sse_enabled == true &&
      aws_sqs_queue.dlq.message_retention_seconds == 1209600
    )
    error_message = "The DLQ must be an encrypted FIFO queue that keeps messages 14 days."
  }

  assert {
    condition = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy) == {
      redrivePermission = "byQueue"
      sourceQueueArns   = ["arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo"]
    } && aws_sqs_queue_redrive_allow_policy.dlq.queue_url == "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo"
    error_message = "Only the replication queue may use the DLQ."
  }

  assert {
    condition = (
      aws_sqs_queue.stream_failures.name == "demo-stream-failures" &&
      aws_sqs_queue.stream_failures.fifo_queue == false &&
      aws_sqs_queue.stream_failures.sqs_managed_sse_enabled == true &&
      aws_sqs_queue.stream_failures.message_retention_seconds == 1209600
    )
    error_message = "The stream failure queue must be a standard (not FIFO) encrypted queue: Lambda's on-failure destination cannot be FIFO."
  }

  assert {
    condition = [
      output.queue_url, output.queue_arn, output.dlq_url, output.dlq_arn, output.stream_failure_queue_url, output.stream_failure_queue_arn,
      ] == [
      "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo",
      "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo",
      "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo",
      "arn:aws:sqs:us-east-1:123456789012:demo-replication-dlq.fifo",
      "https://sqs.us-east-1.amazonaws.com/123456789012/demo-stream-failures",
      "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures",
    ]
    error_message = "The queue outputs must name the three queues."
  }
}

run "queue_settings_are_configurable" {
  command = plan

  module {
    source = "./modules/replication"
  }

  variables {
    replication = merge(var.replication, {
      high_throughput_fifo            = false
      queue_message_retention_seconds = 345600
      max_receive_count               = 12
      max_message_bytes               = 65536
      consumer                        = merge(var.replication.consumer, { timeout = 120 })
    })
  }

  assert {
    condition     = aws_sqs_queue.replication.deduplication_scope == "queue" && aws_sqs_queue.replication.fifo_throughput_limit == "perQueue"
    error_message = "high_throughput_fifo = false must use per-queue deduplication and throughput."
  }

  assert {
    condition     = aws_sqs_queue.replication.message_retention_seconds == 345600 && aws_sqs_queue.replication.max_message_size == 65536
    error_message = "Retention and message size must follow the variables."
  }

  assert {
    condition     = aws_sqs_queue.replication.visibility_timeout_seconds == 720
    error_message = "The visibility timeout must follow the consumer's timeout (6 x 120 s)."
  }

  assert {
    condition     = jsondecode(output.dlq_redrive_allow_policy).redrivePermission == "byQueue"
    error_message = "The DLQ must be restricted to the replication queue by default."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.replication.redrive_policy).maxReceiveCount == 12
    error_message = "max_receive_count must reach the redrive policy."
  }

  assert {
    condition     = module.forwarder.environment_variables["MAX_MESSAGE_BYTES"] == "65536"
    error_message = "The forwarder's MAX_MESSAGE_BYTES must be the queue's limit."
  }
}

run "visibility_timeout_below_six_times_the_consumer_timeout_fails" {
  command = plan

  # The root module's variable replication refuses it (root_replication_validation covers the range).
  variables {
    replication = { enabled = true, queue_visibility_timeout_seconds = 300 }
  }

  expect_failures = [var.replication]
}

run "customer_managed_key_encrypts_every_queue" {
  command = plan

  module {
    source = "./modules/replication"
  }

  variables {
    lambda_settings = merge(var.lambda_settings, { kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/queue-key" })
  }

  assert {
    condition = alltrue([
      for queue in [aws_sqs_queue.replication, aws_sqs_queue.dlq, aws_sqs_queue.stream_failures] :
      queue.kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/queue-key" && queue.kms_data_key_reuse_period_seconds == 300
    ])
    error_message = "With lambda_settings.kms_key_arn every queue must use the key."
  }

  assert {
    condition = jsondecode(output.forwarder_role_policies["kms"]).Statement == [{
      Sid       = "EncryptQueueMessages"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = "arn:aws:kms:us-east-1:123456789012:key/queue-key"
      Condition = { StringEquals = { "kms:ViaService" = "sqs.us-east-1.amazonaws.com" } }
    }]
    error_message = "Unexpected forwarder KMS policy: ${try(output.forwarder_role_policies["kms"], "none")}"
  }

  assert {
    condition = jsondecode(output.consumer_role_policies["kms"]).Statement == [{
      Sid       = "DecryptQueueMessages"
      Effect    = "Allow"
      Action    = "kms:Decrypt"
      Resource  = "arn:aws:kms:us-east-1:123456789012:key/queue-key"
      Condition = { StringEquals = { "kms:ViaService" = "sqs.us-east-1.amazonaws.com" } }
    }]
    error_message = "Unexpected consumer KMS policy: ${try(output.consumer_role_policies["kms"], "none")}"
  }
}

run "consumer_mapping" {
  command = plan

  module {
    source = "./modules/replication"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.consumer.event_source_arn == "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo" &&
      aws_lambda_event_source_mapping.consumer.function_name == "arn:aws:lambda:us-east-1:123456789012:function:demo-replication-consumer"
    )
    error_message = "The consumer mapping must connect the FIFO queue to the consumer."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.consumer.batch_size == 10 &&
      aws_lambda_event_source_mapping.consumer.enabled == true &&
      aws_lambda_event_source_mapping.consumer.function_response_types == toset(["ReportBatchItemFailures"]) &&
      length(aws_lambda_event_source_mapping.consumer.scaling_config) == 0
    )
    error_message = "Unexpected consumer mapping defaults."
  }
}

run "consumer_can_be_deployed_paused_and_capped" {
  command = plan

  module {
    source = "./modules/replication"
  }

  variables {
    replication = merge(var.replication, {
      consumer_enabled             = false
      consumer_batch_size          = 1
      consumer_maximum_concurrency = 2
    })
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.consumer.enabled == false &&
      aws_lambda_event_source_mapping.consumer.batch_size == 1 &&
      aws_lambda_event_source_mapping.consumer.scaling_config[0].maximum_concurrency == 2
    )
    error_message = "consumer_enabled, consumer_batch_size and consumer_maximum_concurrency must reach the mapping."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.enabled == true
    error_message = "Pausing the consumer must leave the forwarder running, so changes keep reaching the queue."
  }
}

run "lambda_environments" {
  command = plan

  module {
    source = "./modules/replication"
  }

  variables {
    transform = {
      steps_json  = "[{\"op\":\"derive\",\"attribute\":\"target_pk\",\"template\":\"{tenant}#{id}\"}]"
      custom_file = "tests/terraform/fixtures/example_transform.py"
    }
    replication = merge(var.replication, {
      cutoff_timestamp = "2025-01-31T11:59:00Z"
    })
  }

  assert {
    condition = module.forwarder.environment_variables == tomap({
      QUEUE_URL                    = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo"
      MAX_MESSAGE_BYTES            = "262144"
      TARGET_TABLE                 = "orders-v2"
      MAX_WRITE_ATTEMPTS           = "8"
      BACKOFF_BASE_MS              = "50"
      BACKOFF_CAP_MS               = "5000"
      TIME_SAFETY_MARGIN_SECONDS   = "10"
      TRANSFORM_STEPS              = "[{\"op\":\"derive\",\"attribute\":\"target_pk\",\"template\":\"{tenant}#{id}\"}]"
      TRANSFORM_MODULE             = "custom_transform"
      POWERTOOLS_SERVICE_NAME      = "demo-stream-forwarder"
      POWERTOOLS_TRACE_DISABLED    = "true"
      POWERTOOLS_METRICS_NAMESPACE = "ddb-migrate"
    })
    error_message = "Unexpected forwarder environment: ${jsonencode(module.forwarder.environment_variables)}"
  }

  assert {
    condition = module.consumer.environment_variables == tomap({
      SOURCE_TABLE                 = "orders"
      TARGET_TABLE                 = "orders-v2"
      CUTOFF_TIMESTAMP             = "2025-01-31T11:59:00Z"
      MAX_WRITE_ATTEMPTS           = "8"
      BACKOFF_BASE_MS              = "50"
      BACKOFF_CAP_MS               = "5000"
      TIME_SAFETY_MARGIN_SECONDS   = "10"
      TRANSFORM_STEPS              = "[{\"op\":\"derive\",\"attribute\":\"target_pk\",\"template\":\"{tenant}#{id}\"}]"
      TRANSFORM_MODULE             = "custom_transform"
      POWERTOOLS_SERVICE_NAME      = "demo-replication-consumer"
      POWERTOOLS_TRACE_DISABLED    = "true"
      POWERTOOLS_METRICS_NAMESPACE = "ddb-migrate"
    })
    error_message = "Unexpected consumer environment: ${jsonencode(module.consumer.environment_variables)}"
  }

  assert {
    condition = (
      module.forwarder.package_path != module.consumer.package_path &&
      alltrue([for file in module.forwarder.package_files : startswith(file, "migration_core/") || startswith(file, "stream_forwarder/")]) &&
      alltrue([for file in module.consumer.package_files : startswith(file, "migration_core/") || startswith(file, "replication_consumer/")]) &&
      contains(module.forwarder.package_files, "stream_forwarder/handler.py") &&
      contains(module.consumer.package_files, "replication_consumer/handler.py")
    )
    error_message = "Each Lambda packages migration_core and its own handler package only."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.consumer.enabled && output.cutoff_timestamp == "2025-01-31T11:59:00Z"
    error_message = "The cutoff output must be the consumer's CUTOFF_TIMESTAMP."
  }
}

run "forwarder_policies_are_scoped_to_exact_resources" {
  command = plan

  module {
    source = "./modules/replication"
  }

  assert {
    condition     = sort(keys(output.forwarder_role_policies)) == tolist(["dynamodb", "logs", "sqs", "stream"])
    error_message = "Unexpected forwarder policies: ${join(", ", keys(output.forwarder_role_policies))}."
  }

  assert {
    condition = jsondecode(output.forwarder_role_policies["stream"]).Statement == [
      {
        Sid      = "ReadSourceStream"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
      },
      {
        Sid      = "ListStreams"
        Effect   = "Allow"
        Action   = "dynamodb:ListStreams"
        Resource = "*"
      },
    ]
    error_message = "Unexpected forwarder stream policy: ${output.forwarder_role_policies["stream"]}"
  }

  assert {
    condition = jsondecode(output.forwarder_role_policies["sqs"]).Statement == [
      {
        Sid      = "SendToReplicationQueue"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo"
      },
      {
        Sid      = "SendStreamFailures"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures"
      },
    ]
    error_message = "Unexpected forwarder SQS policy: ${output.forwarder_role_policies["sqs"]}"
  }

  assert {
    condition = jsondecode(output.forwarder_role_policies["dynamodb"]).Statement == [{
      Sid      = "ReadTargetKeySchema"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeTable"]
      Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    }]
    error_message = "Unexpected forwarder DynamoDB policy: ${output.forwarder_role_policies["dynamodb"]}"
  }

  assert {
    condition = flatten([
      for name, policy in output.forwarder_role_policies : [
        for statement in jsondecode(policy).Statement : statement.Action if contains(flatten([statement.Resource]), "*")
      ]
    ]) == ["dynamodb:ListStreams"]
    error_message = "Only dynamodb:ListStreams may use Resource \"*\" (it supports no resource-level permissions)."
  }

  assert {
    condition = alltrue(flatten([
      for policy in values(output.forwarder_role_policies) : [
        for statement in jsondecode(policy).Statement : !anytrue([for action in flatten([statement.Action]) : strcontains(action, "*")])
      ]
    ]))
    error_message = "No forwarder statement may use a wildcard action."
  }
}

run "consumer_policies_are_scoped_to_exact_resources" {
  command = plan

  module {
    source = "./modules/replication"
  }

  assert {
    condition     = sort(keys(output.consumer_role_policies)) == tolist(["dynamodb", "logs", "sqs"])
    error_message = "Unexpected consumer policies: ${join(", ", keys(output.consumer_role_policies))}."
  }

  assert {
    condition = jsondecode(output.consumer_role_policies["sqs"]).Statement == [{
      Sid      = "ConsumeReplicationQueue"
      Effect   = "Allow"
      Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      Resource = "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo"
    }]
    error_message = "Unexpected consumer SQS policy: ${output.consumer_role_policies["sqs"]}"
  }

  assert {
    condition = jsondecode(output.consumer_role_policies["dynamodb"]).Statement == [
      {
        Sid      = "ApplyToTargetTable"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeTable", "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
      },
      {
        Sid      = "RereadSourceItems"
        Effect   = "Allow"
        Action   = "dynamodb:GetItem"
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      },
    ]
    error_message = "Unexpected consumer DynamoDB policy: ${output.consumer_role_policies["dynamodb"]}"
  }

  assert {
    condition = alltrue(flatten([
      for policy in values(output.consumer_role_policies) : [
        for statement in jsondecode(policy).Statement : !contains(flatten([statement.Resource]), "*") && !anytrue([for action in flatten([statement.Action]) : strcontains(action, "*")])
      ]
    ]))
    error_message = "No consumer statement may use a wildcard resource or action."
  }

  assert {
    condition = flatten([
      for policy in values(output.consumer_role_policies) : [
        for statement in jsondecode(policy).Statement : statement.Action if contains(flatten([statement.Resource]), "arn:aws:dynamodb:us-east-1:123456789012:table/orders")
      ]
    ]) == ["dynamodb:GetItem"]
    error_message = "The consumer may only read items of the source table, never write them."
  }
}

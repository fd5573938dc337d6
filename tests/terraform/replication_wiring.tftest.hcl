# How the root module wires modules/replication: off by default with null outputs, and when enabled it shares
# the backfill's transform and Lambda settings and exposes the outputs the CLI reads (docs/ARCHITECTURE.md).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "replication_is_off_by_default_and_its_outputs_are_null" {
  command = plan

  assert {
    condition     = length(module.replication) == 0
    error_message = "Replication must not be deployed unless replication.enabled is true."
  }

  assert {
    condition = alltrue([
      for value in [
        output.replication_queue_url, output.replication_queue_arn,
        output.replication_dlq_url, output.replication_dlq_arn,
        output.stream_failure_queue_url, output.stream_failure_queue_arn,
        output.consumer_event_source_mapping_uuid, output.forwarder_event_source_mapping_uuid,
        output.forwarder_function_name, output.consumer_function_name,
        output.replication_cutoff_timestamp,
      ] : value == null
    ])
    error_message = "Every replication output must be null while replication is off."
  }
}

run "enabled_replication_exposes_the_cli_outputs" {
  command = plan

  variables {
    replication = {
      enabled          = true
      consumer_enabled = false
      cutoff_timestamp = "2025-01-31T11:59:00Z"
    }
  }

  assert {
    condition = [
      output.replication_queue_url, output.replication_queue_arn,
      output.replication_dlq_url, output.replication_dlq_arn,
      output.stream_failure_queue_url, output.stream_failure_queue_arn,
      output.forwarder_event_source_mapping_uuid, output.consumer_event_source_mapping_uuid,
      output.forwarder_function_name, output.consumer_function_name,
      output.replication_cutoff_timestamp,
      ] == [
      "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo",
      "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo",
      "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo",
      "arn:aws:sqs:us-east-1:123456789012:demo-replication-dlq.fifo",
      "https://sqs.us-east-1.amazonaws.com/123456789012/demo-stream-failures",
      "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures",
      "00000000-0000-4000-8000-00000000f0f0",
      "00000000-0000-4000-8000-00000000c0c0",
      "demo-stream-forwarder",
      "demo-replication-consumer",
      "2025-01-31T11:59:00Z",
    ]
    error_message = "The replication outputs must name the deployed resources."
  }

  assert {
    condition     = module.replication[0].consumer_enabled == false && module.replication[0].consumer_environment_variables["CUTOFF_TIMESTAMP"] == "2025-01-31T11:59:00Z"
    error_message = "consumer_enabled and cutoff_timestamp must reach the module."
  }

  assert {
    condition     = module.replication[0].queue_visibility_timeout_seconds == 360
    error_message = "The queue's visibility timeout must default to 6 x the consumer's 60 s timeout."
  }

  assert {
    condition     = output.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill"
    error_message = "Enabling replication must leave the backfill as it is."
  }
}

run "replication_shares_the_backfill_transform" {
  command = plan

  variables {
    replication = { enabled = true }
    transform = {
      steps = [
        { op = "derive", attribute = "target_pk", template = "{tenant}#{id}" },
        { op = "set", attribute = "big", value = "{\"N\": \"12345678901234567890123456789012345678\"}" },
      ]
      custom_file = "tests/terraform/fixtures/example_transform.py"
    }
  }

  assert {
    condition = (
      module.replication[0].forwarder_environment_variables["TRANSFORM_STEPS"] == output.transform_steps_json &&
      module.replication[0].consumer_environment_variables["TRANSFORM_STEPS"] == output.transform_steps_json &&
      module.backfill.worker_environment_variables["TRANSFORM_STEPS"] == output.transform_steps_json
    )
    error_message = "The forwarder, the consumer and the worker must run the same TRANSFORM_STEPS."
  }

  assert {
    condition = (
      module.replication[0].forwarder_environment_variables["TRANSFORM_MODULE"] == "custom_transform" &&
      module.replication[0].consumer_environment_variables["TRANSFORM_MODULE"] == "custom_transform"
    )
    error_message = "A custom transform file must reach both replication Lambdas."
  }
}

run "replication_settings_reach_the_module" {
  command = plan

  variables {
    replication = {
      enabled                                   = true
      stream_batch_size                         = 500
      stream_parallelization_factor             = 4
      stream_maximum_batching_window_in_seconds = 2
      queue_message_retention_seconds           = 86400
      high_throughput_fifo                      = false
      max_receive_count                         = 9
      max_message_bytes                         = 131072
      consumer_batch_size                       = 5
      consumer_maximum_concurrency              = 50
      forwarder                                 = { memory_size = 512, timeout = 120, max_attempts = 12, time_safety_margin_seconds = 20 }
      consumer                                  = { memory_size = 1024, timeout = 90, backoff_base_ms = 25, backoff_cap_ms = 2000 }
    }
  }

  assert {
    condition = [for key in ["MAX_MESSAGE_BYTES", "MAX_WRITE_ATTEMPTS", "BACKOFF_BASE_MS", "BACKOFF_CAP_MS", "TIME_SAFETY_MARGIN_SECONDS"] : module.replication[0].forwarder_environment_variables[key]] == [
      "131072", "12", "50", "5000", "20",
    ]
    error_message = "Forwarder settings must reach its environment."
  }

  assert {
    condition = [for key in ["MAX_WRITE_ATTEMPTS", "BACKOFF_BASE_MS", "BACKOFF_CAP_MS", "TIME_SAFETY_MARGIN_SECONDS"] : module.replication[0].consumer_environment_variables[key]] == [
      "8", "25", "2000", "10",
    ]
    error_message = "Consumer settings must reach its environment."
  }

  assert {
    condition     = module.replication[0].queue_visibility_timeout_seconds == 540
    error_message = "The visibility timeout must follow the consumer's timeout (6 x 90 s)."
  }
}

run "replication_uses_the_shared_lambda_settings" {
  command = plan

  variables {
    replication     = { enabled = true }
    powertools      = { source = "layer" }
    tracing_enabled = true
  }

  assert {
    condition     = contains(keys(module.replication[0].forwarder_role_policies), "xray") && contains(keys(module.replication[0].consumer_role_policies), "xray")
    error_message = "tracing_enabled must reach both replication Lambdas."
  }

  assert {
    condition     = module.replication[0].forwarder_log_group_name == "/aws/lambda/demo-stream-forwarder" && module.replication[0].consumer_log_group_name == "/aws/lambda/demo-replication-consumer"
    error_message = "Each replication Lambda must have its own log group."
  }
}

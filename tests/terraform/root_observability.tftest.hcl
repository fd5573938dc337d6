# Logs, metrics and traces (docs/OBSERVABILITY.md): every Lambda publishes its EMF metrics under one namespace
# with its own service name, every log group has the configured retention and key, and tracing reaches the
# functions and the state machine.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "every_lambda_publishes_metrics_under_one_namespace" {
  command = plan

  variables {
    replication = { enabled = true }
  }

  # The dashboards and alarms a user builds on ItemsWritten, EventsApplied, ... look in one namespace; the
  # service dimension (Powertools' POWERTOOLS_SERVICE_NAME) tells the functions and the deployments apart.
  assert {
    condition = [
      for environment in [
        module.backfill.worker_environment_variables,
        module.replication[0].forwarder_environment_variables,
        module.replication[0].consumer_environment_variables,
      ] : [environment["POWERTOOLS_METRICS_NAMESPACE"], environment["POWERTOOLS_SERVICE_NAME"]]
      ] == [
      ["ddb-migrate", "demo-backfill-worker"],
      ["ddb-migrate", "demo-stream-forwarder"],
      ["ddb-migrate", "demo-replication-consumer"],
    ]
    error_message = "Every Lambda needs POWERTOOLS_METRICS_NAMESPACE = ddb-migrate and POWERTOOLS_SERVICE_NAME = its function name."
  }

  assert {
    condition = [output.worker_log_group_name, output.state_machine_log_group_name] == [
      "/aws/lambda/demo-backfill-worker", "/aws/vendedlogs/states/demo-backfill",
    ]
    error_message = "The worker logs to /aws/lambda/<function> and the state machine to /aws/vendedlogs/states/<state machine>."
  }
}

run "lambda_log_group_defaults" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    function_name         = "demo-function"
    handler               = "backfill_worker.handler.lambda_handler"
    source_dir            = "lambda_src"
    package_dirs          = ["migration_core", "backfill_worker"]
    custom_transform_file = null
    memory_size           = 128
    timeout               = 3
    tags                  = {}
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.this.name == "/aws/lambda/demo-function" &&
      aws_cloudwatch_log_group.this.retention_in_days == 30 &&
      aws_cloudwatch_log_group.this.kms_key_id == null
    )
    error_message = "By default the function's log group keeps 30 days under AWS managed encryption."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "PassThrough" && length(aws_iam_role_policy.xray) == 0
    error_message = "Tracing is off unless tracing_enabled."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    error_message = "Powertools' Tracer is off unless tracing_enabled."
  }
}

run "lambda_log_group_retention_key_and_tracing" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    function_name         = "demo-function"
    handler               = "backfill_worker.handler.lambda_handler"
    source_dir            = "lambda_src"
    package_dirs          = ["migration_core", "backfill_worker"]
    custom_transform_file = null
    memory_size           = 128
    timeout               = 3
    tags                  = {}
    lambda_settings = merge(var.lambda_settings, {
      log_retention_days = 365
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      tracing_enabled    = true
    })
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.this.retention_in_days == 365 &&
      aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    error_message = "log_retention_days and kms_key_arn must reach the function's log group."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active" && length(aws_iam_role_policy.xray) == 1
    error_message = "tracing_enabled must turn on active tracing and grant the X-Ray writes."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["POWERTOOLS_TRACE_DISABLED"] == "false"
    error_message = "With tracing and Powertools from a layer (which carries aws_xray_sdk), the handlers trace with Powertools' Tracer."
  }
}

run "lambda_tracing_with_bundled_powertools_keeps_the_tracer_off" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    function_name         = "demo-function"
    handler               = "backfill_worker.handler.lambda_handler"
    source_dir            = "lambda_src"
    package_dirs          = ["migration_core", "backfill_worker"]
    custom_transform_file = null
    memory_size           = 128
    timeout               = 3
    tags                  = {}
    lambda_settings = merge(var.lambda_settings, {
      bundled_wheels  = ["modules/lambda_function/vendor/aws_lambda_powertools-3.37.0-py3-none-any.whl"]
      tracing_enabled = true
    })
  }

  assert {
    condition = (
      aws_lambda_function.this.tracing_config[0].mode == "Active" &&
      aws_lambda_function.this.environment[0].variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    )
    error_message = "The bundle has no aws_xray_sdk: Lambda traces actively, Powertools' Tracer stays off."
  }
}

run "state_machine_log_group_retention_key_and_tracing" {
  command = plan

  # modules/backfill directly, for its state_machine_log_level (the root module keeps ERROR). An internal module
  # takes the root's values whole, defaults applied.
  module {
    source = "./modules/backfill"
  }

  variables {
    source_table = {
      name = "orders", arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders", kms_key_arn = null, same_as_target = false
    }
    target_table = {
      name     = "orders-v2", arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2", in_other_account = false
      region   = "us-east-1", in_other_region = false
      role_arn = null, kms_key_arn = null, lambda_environment = { TARGET_TABLE = "orders-v2" }, assume_role_statement = null
    }
    total_segments               = 16
    max_concurrency              = 50
    tolerated_failure_percentage = 0
    worker = {
      memory_size           = 1024, timeout = 900, write_concurrency = 8, max_write_attempts = 10, backoff_base_ms = 50
      backoff_cap_ms        = 20000, time_safety_margin_seconds = 60, scan_page_limit = null, reserved_concurrency = null
      invocations_per_child = 250
    }
    allow_target_cleanup = false
    prewarm = {
      enabled                   = false, by_default = true, read_capacity_units = 12000, write_capacity_units = 4000
      warm_throughput_on_demand = false
    }
    capacity_budget = { max_read_rate = null, max_write_rate = null }
    export = {
      enabled     = false, by_default = false, bucket_name = null, bucket_arn = null, bucket_owner = null, prefix = null
      kms_key_arn = null, poll_seconds = 60
    }
    transform = { steps_json = "[]", custom_file = null }
    lambda_settings = merge(var.lambda_settings, {
      log_retention_days = 90
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      tracing_enabled    = true
    })
    tags                    = {}
    state_machine_log_level = "ALL"
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.state_machine.name == "/aws/vendedlogs/states/demo-backfill" &&
      aws_cloudwatch_log_group.state_machine.retention_in_days == 90 &&
      aws_cloudwatch_log_group.state_machine.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    error_message = "The state machine's vended log group must carry the retention and the key."
  }

  assert {
    condition = (
      aws_sfn_state_machine.this.logging_configuration[0].log_destination == "${aws_cloudwatch_log_group.state_machine.arn}:*" &&
      aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" &&
      aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    )
    error_message = "The state machine must log to its own log group at the configured level."
  }

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "lambda_settings.tracing_enabled must turn on the state machine's X-Ray tracing."
  }
}

# Logs, metrics and traces (docs/OBSERVABILITY.md): every Lambda publishes its EMF metrics under one namespace
# with its own service name, every log group has the configured retention and key, and tracing reaches the
# functions and the state machine.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

override_data {
  target = module.backfill.data.aws_dynamodb_table.source
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    server_side_encryption = []
  }
}

override_data {
  target = module.backfill.module.target_table.data.aws_dynamodb_table.this
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    server_side_encryption = []
  }
}

override_data {
  target = module.replication[0].data.aws_dynamodb_table.source
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    stream_enabled         = true
    stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    stream_view_type       = "NEW_AND_OLD_IMAGES"
    server_side_encryption = []
  }
}

override_data {
  target = module.replication[0].module.target_table.data.aws_dynamodb_table.this
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    server_side_encryption = []
  }
}

variables {
  name              = "demo"
  source_table_name = "orders"
  target_table_name = "orders-v2"
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
    function_name = "demo-function"
    handler       = "backfill_worker.handler.lambda_handler"
    source_dir    = "lambda_src"
    package_dirs  = ["migration_core", "backfill_worker"]
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
}

run "lambda_log_group_retention_key_and_tracing" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    function_name      = "demo-function"
    handler            = "backfill_worker.handler.lambda_handler"
    source_dir         = "lambda_src"
    package_dirs       = ["migration_core", "backfill_worker"]
    log_retention_days = 365
    kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    tracing_enabled    = true
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
}

run "state_machine_log_group_retention_key_and_tracing" {
  command = plan

  module {
    source = "./modules/backfill"
  }

  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      server_side_encryption = []
    }
  }

  override_data {
    target = module.target_table.data.aws_dynamodb_table.this
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
      server_side_encryption = []
    }
  }

  variables {
    lambda_settings = {
      log_retention_days = 90
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      tracing_enabled    = true
    }
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

# Every validation of the root module's variables rejects a bad value with its own message.
# (Run `terraform test -test-directory=tests/terraform -verbose` to read the messages.)

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "valid_configuration_plans" {
  command = plan

  variables {
    total_segments               = 10000
    max_concurrency              = 10000
    tolerated_failure_percentage = 100
    worker = {
      memory_size                = 10240
      timeout                    = 10
      write_concurrency          = 64
      time_safety_margin_seconds = 9
      scan_page_limit            = 10000
    }
    log_retention_days = 3653
    kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
}

run "name_with_invalid_characters" {
  command = plan
  variables { name = "demo_1" }
  expect_failures = [var.name]
}

run "name_starting_with_digit" {
  command = plan
  variables { name = "1demo" }
  expect_failures = [var.name]
}

run "name_too_long" {
  command = plan
  variables { name = "a23456789012345678901234567890123" }
  expect_failures = [var.name]
}

run "name_ending_with_hyphen" {
  command = plan
  variables { name = "demo-" }
  expect_failures = [var.name]
}

run "source_table_name_too_short" {
  command = plan
  variables { source_table_name = "ab" }
  expect_failures = [var.source_table_name]
}

run "target_table_name_with_slash" {
  command = plan
  variables { target_table_name = "orders/v2" }
  expect_failures = [var.target_table_name]
}

run "total_segments_zero" {
  command = plan
  variables { total_segments = 0 }
  expect_failures = [var.total_segments]
}

run "total_segments_over_distributed_map_limit" {
  command = plan
  variables { total_segments = 10001 }
  expect_failures = [var.total_segments]
}

run "total_segments_fractional" {
  command = plan
  variables { total_segments = 2.5 }
  expect_failures = [var.total_segments]
}

run "max_concurrency_negative" {
  command = plan
  variables { max_concurrency = -1 }
  expect_failures = [var.max_concurrency]
}

run "max_concurrency_over_limit" {
  command = plan
  variables { max_concurrency = 10001 }
  expect_failures = [var.max_concurrency]
}

run "tolerated_failure_percentage_over_100" {
  command = plan
  variables { tolerated_failure_percentage = 100.5 }
  expect_failures = [var.tolerated_failure_percentage]
}

run "tolerated_failure_percentage_negative" {
  command = plan
  variables { tolerated_failure_percentage = -1 }
  expect_failures = [var.tolerated_failure_percentage]
}

run "worker_memory_too_small" {
  command = plan
  variables { worker = { memory_size = 64 } }
  expect_failures = [var.worker]
}

run "worker_memory_too_large" {
  command = plan
  variables { worker = { memory_size = 10241 } }
  expect_failures = [var.worker]
}

run "worker_timeout_too_short" {
  command = plan
  variables { worker = { timeout = 5, time_safety_margin_seconds = 1 } }
  expect_failures = [var.worker]
}

run "worker_timeout_over_lambda_maximum" {
  command = plan
  variables { worker = { timeout = 901 } }
  expect_failures = [var.worker]
}

run "worker_write_concurrency_zero" {
  command = plan
  variables { worker = { write_concurrency = 0 } }
  expect_failures = [var.worker]
}

run "worker_write_concurrency_too_high" {
  command = plan
  variables { worker = { write_concurrency = 65 } }
  expect_failures = [var.worker]
}

run "worker_max_write_attempts_zero" {
  command = plan
  variables { worker = { max_write_attempts = 0 } }
  expect_failures = [var.worker]
}

run "worker_backoff_base_zero" {
  command = plan
  variables { worker = { backoff_base_ms = 0 } }
  expect_failures = [var.worker]
}

run "worker_backoff_cap_below_base" {
  command = plan
  variables { worker = { backoff_base_ms = 500, backoff_cap_ms = 100 } }
  expect_failures = [var.worker]
}

run "worker_safety_margin_not_below_timeout" {
  command = plan
  variables { worker = { timeout = 60, time_safety_margin_seconds = 60 } }
  expect_failures = [var.worker]
}

run "worker_scan_page_limit_zero" {
  command = plan
  variables { worker = { scan_page_limit = 0 } }
  expect_failures = [var.worker]
}

run "worker_scan_page_limit_too_large" {
  command = plan
  variables { worker = { scan_page_limit = 10001 } }
  expect_failures = [var.worker]
}

run "transform_unknown_op" {
  command = plan
  variables {
    transform = { steps = [{ op = "copy", attribute = "a" }] }
  }
  expect_failures = [var.transform]
}

run "transform_empty_attribute" {
  command = plan
  variables {
    transform = { steps = [{ op = "remove", attribute = "" }] }
  }
  expect_failures = [var.transform]
}

run "transform_set_without_value" {
  command = plan
  variables {
    transform = { steps = [{ op = "set", attribute = "status" }] }
  }
  expect_failures = [var.transform]
}

run "transform_set_value_not_json" {
  command = plan
  variables {
    transform = { steps = [{ op = "set", attribute = "status", value = "migrated" }] }
  }
  expect_failures = [var.transform]
}

run "transform_set_value_two_type_keys" {
  command = plan
  variables {
    transform = { steps = [{ op = "set", attribute = "status", value = "{\"S\": \"a\", \"N\": \"1\"}" }] }
  }
  expect_failures = [var.transform]
}

run "transform_set_value_unknown_type_key" {
  command = plan
  variables {
    transform = { steps = [{ op = "set", attribute = "status", value = "{\"STRING\": \"a\"}" }] }
  }
  expect_failures = [var.transform]
}

run "transform_set_value_number_not_numeric" {
  command = plan
  variables {
    transform = { steps = [{ op = "set", attribute = "count", value = "{\"N\": \"twelve\"}" }] }
  }
  expect_failures = [var.transform]
}

run "transform_rename_without_to" {
  command = plan
  variables {
    transform = { steps = [{ op = "rename", attribute = "old" }] }
  }
  expect_failures = [var.transform]
}

run "transform_rename_to_itself" {
  command = plan
  variables {
    transform = { steps = [{ op = "rename", attribute = "old", to = "old" }] }
  }
  expect_failures = [var.transform]
}

run "transform_derive_without_template" {
  command = plan
  variables {
    transform = { steps = [{ op = "derive", attribute = "pk" }] }
  }
  expect_failures = [var.transform]
}

run "transform_timestamp_unknown_format" {
  command = plan
  variables {
    transform = { steps = [{ op = "timestamp", attribute = "updatedAt", format = "rfc2822" }] }
  }
  expect_failures = [var.transform]
}

run "transform_field_of_another_op" {
  command = plan
  variables {
    transform = { steps = [{ op = "remove", attribute = "tmp", to = "other" }] }
  }
  expect_failures = [var.transform]
}

run "transform_steps_over_environment_limit" {
  command = plan
  variables {
    transform = {
      steps = [for i in range(40) : { op = "set", attribute = "attribute_${i}", value = jsonencode({ S = "a value that is long enough to add up quickly ${i}" }) }]
    }
  }
  expect_failures = [var.transform]
}

run "transform_custom_file_missing" {
  command = plan
  variables {
    transform = { custom_file = "tests/terraform/fixtures/does_not_exist.py" }
  }
  expect_failures = [var.transform]
}

run "transform_custom_file_not_python" {
  command = plan
  variables {
    transform = { custom_file = "tests/terraform/mocks/aws.tfmock.hcl" }
  }
  expect_failures = [var.transform]
}

run "powertools_layer_arn_not_an_arn" {
  command = plan
  variables { powertools = { source = "layer", layer_arn = "AWSLambdaPowertoolsPythonV3:27" } }
  expect_failures = [var.powertools]
}

run "powertools_layer_arn_without_the_layer_source" {
  command = plan
  variables { powertools = { layer_arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27" } }
  expect_failures = [var.powertools]
}

run "powertools_source_unknown" {
  command = plan
  variables { powertools = { source = "pip" } }
  expect_failures = [var.powertools]
}

run "lambda_runtime_not_python" {
  command = plan
  variables { lambda_runtime = "nodejs20.x" }
  expect_failures = [var.lambda_runtime]
}

run "lambda_runtime_too_old" {
  command = plan
  variables { lambda_runtime = "python3.9" }
  expect_failures = [var.lambda_runtime]
}

# The root module is the only place that validates a setting; modules/lambda_function once checked the runtime
# with its own, looser pattern (^python3\.[0-9]+$), which let python3.10 through. These runs pin the root's.
run "lambda_runtime_python_3_10_is_refused" {
  command = plan
  variables { lambda_runtime = "python3.10" }
  expect_failures = [var.lambda_runtime]
}

run "lambda_runtime_newer_than_the_default_plans" {
  command = plan
  variables { lambda_runtime = "python3.13" }

  assert {
    condition     = module.backfill.worker_function_name == "demo-backfill-worker"
    error_message = "python3.13 is a Lambda Python runtime from python3.11 on."
  }
}

# modules/lambda_function also accepted a reserved concurrency of 0 (a function that can never run) and a
# timeout under 10 seconds; only the root's ranges hold now.
run "worker_reserved_concurrency_zero_is_refused" {
  command = plan
  variables { worker = { reserved_concurrency = 0 } }
  expect_failures = [var.worker]
}

run "architecture_unknown" {
  command = plan
  variables { architecture = "aarch64" }
  expect_failures = [var.architecture]
}

run "python_executable_empty" {
  command = plan
  variables { python_executable = " " }
  expect_failures = [var.python_executable]
}

run "log_retention_days_not_allowed" {
  command = plan
  variables { log_retention_days = 31 }
  expect_failures = [var.log_retention_days]
}

run "kms_key_arn_alias_rejected" {
  command = plan
  variables { kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/migrations" }
  expect_failures = [var.kms_key_arn]
}

run "kms_key_arn_key_id_rejected" {
  command = plan
  variables { kms_key_arn = "1234abcd-12ab-34cd-56ef-1234567890ab" }
  expect_failures = [var.kms_key_arn]
}

run "tags_valid_at_the_limits_plan" {
  command = plan
  variables {
    tags = merge(
      { for i in range(49) : "tag${i}" => "" },
      { (join("", [for i in range(128) : "k"])) = join("", [for i in range(256) : "v"]) },
    )
  }
}

run "tags_too_many" {
  command = plan
  variables { tags = { for i in range(51) : "tag${i}" => "value" } }
  expect_failures = [var.tags]
}

run "tags_key_too_long" {
  command = plan
  variables { tags = { (join("", [for i in range(129) : "k"])) = "value" } }
  expect_failures = [var.tags]
}

run "tags_value_too_long" {
  command = plan
  variables { tags = { owner = join("", [for i in range(257) : "v"]) } }
  expect_failures = [var.tags]
}

run "tags_reserved_aws_prefix" {
  command = plan
  variables { tags = { "aws:owner" = "me" } }
  expect_failures = [var.tags]
}

run "alarms_valid_configuration_plans" {
  command = plan
  variables {
    alarms = {
      enabled                        = true
      sns_topic_arn                  = "arn:aws-cn:sns:cn-north-1:123456789012:migration_alerts-1"
      iterator_age_threshold_seconds = 86400
      period_seconds                 = 3600
      evaluation_periods             = 168
    }
  }
}

run "alarms_sns_topic_arn_not_an_arn" {
  command = plan
  variables {
    alarms = { enabled = true, sns_topic_arn = "migration-alerts" }
  }
  expect_failures = [var.alarms]
}

run "alarms_sns_topic_arn_of_another_service" {
  command = plan
  variables {
    alarms = { enabled = true, sns_topic_arn = "arn:aws:sqs:us-east-1:123456789012:migration-alerts" }
  }
  expect_failures = [var.alarms]
}

run "alarms_iterator_age_threshold_zero" {
  command = plan
  variables {
    alarms = { enabled = true, iterator_age_threshold_seconds = 0 }
  }
  expect_failures = [var.alarms]
}

run "alarms_iterator_age_threshold_beyond_stream_retention" {
  command = plan
  variables {
    alarms = { enabled = true, iterator_age_threshold_seconds = 86401 }
  }
  expect_failures = [var.alarms]
}

run "alarms_period_not_a_multiple_of_a_minute" {
  command = plan
  variables {
    alarms = { enabled = true, period_seconds = 90 }
  }
  expect_failures = [var.alarms]
}

run "alarms_evaluation_periods_zero" {
  command = plan
  variables {
    alarms = { enabled = true, evaluation_periods = 0 }
  }
  expect_failures = [var.alarms]
}

run "alarms_evaluation_range_over_a_day" {
  command = plan
  variables {
    alarms = { enabled = true, period_seconds = 60, evaluation_periods = 1441 }
  }
  expect_failures = [var.alarms]
}

run "capacity_budget_in_units_and_shares_plans" {
  command = plan
  variables {
    capacity_budget = { max_read_rate = "100%", max_write_rate = "0.5" }
  }
}

run "capacity_budget_zero_units" {
  command = plan
  variables {
    capacity_budget = { max_write_rate = "0" }
  }
  expect_failures = [var.capacity_budget]
}

run "capacity_budget_share_above_100_percent" {
  command = plan
  variables {
    capacity_budget = { max_read_rate = "150%" }
  }
  expect_failures = [var.capacity_budget]
}

run "capacity_budget_not_a_rate" {
  command = plan
  variables {
    capacity_budget = { max_read_rate = "fast" }
  }
  expect_failures = [var.capacity_budget]
}

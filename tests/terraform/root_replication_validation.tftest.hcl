# Every validation of the root module's `replication` variable rejects a bad value; each run breaks exactly one
# rule, so the failure is that rule's. (`terraform test -test-directory=tests/terraform -verbose` shows the
# messages.) The limits are the services': retention <= 14 days, stream batches <= 10,000, FIFO batches <= 10,
# parallelization factor 1..10, ScalingConfig 2..1000, and the cutoff must be RFC 3339 with a timezone.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "limits_plan" {
  command = plan

  variables {
    replication = {
      enabled                                   = true
      cutoff_timestamp                          = "2025-01-31T12:59:00.123456789+01:00"
      stream_batch_size                         = 10000
      stream_parallelization_factor             = 10
      stream_maximum_batching_window_in_seconds = 300
      stream_maximum_retry_attempts             = 10000
      stream_maximum_record_age_in_seconds      = 60
      queue_message_retention_seconds           = 1209600
      queue_visibility_timeout_seconds          = 43200
      max_receive_count                         = 1000
      max_message_bytes                         = 16384
      consumer_batch_size                       = 1
      consumer_maximum_concurrency              = 1000
      forwarder                                 = { memory_size = 10240, timeout = 900, max_attempts = 100, backoff_base_ms = 1, backoff_cap_ms = 300000, time_safety_margin_seconds = 899 }
      consumer                                  = { memory_size = 128, timeout = 10, max_attempts = 1, backoff_base_ms = 7, backoff_cap_ms = 7, time_safety_margin_seconds = 1 }
    }
  }

  assert {
    condition     = output.replication_cutoff_timestamp == "2025-01-31T12:59:00.123456789+01:00"
    error_message = "A cutoff with fractional seconds and an offset is valid RFC 3339."
  }
}

run "lower_limits_plan" {
  command = plan

  variables {
    replication = {
      enabled                                   = true
      stream_batch_size                         = 1
      stream_parallelization_factor             = 1
      stream_maximum_batching_window_in_seconds = 0
      stream_maximum_retry_attempts             = 0
      stream_maximum_record_age_in_seconds      = 604800
      queue_message_retention_seconds           = 60
      max_receive_count                         = 1
      max_message_bytes                         = 262144
      consumer_batch_size                       = 10
      consumer_maximum_concurrency              = 2
    }
  }
}

run "cutoff_without_timezone" {
  command = plan
  variables { replication = { cutoff_timestamp = "2025-01-31T12:00:00" } }
  expect_failures = [var.replication]
}

run "cutoff_with_space_separator" {
  command = plan
  variables { replication = { cutoff_timestamp = "2025-01-31 12:00:00Z" } }
  expect_failures = [var.replication]
}

run "cutoff_date_only" {
  command = plan
  variables { replication = { cutoff_timestamp = "2025-01-31" } }
  expect_failures = [var.replication]
}

run "cutoff_impossible_date" {
  command = plan
  variables { replication = { cutoff_timestamp = "2025-02-30T12:00:00Z" } }
  expect_failures = [var.replication]
}

run "cutoff_epoch_seconds" {
  command = plan
  variables { replication = { cutoff_timestamp = "1738324800" } }
  expect_failures = [var.replication]
}

run "cutoff_offset_without_colon" {
  command = plan
  variables { replication = { cutoff_timestamp = "2025-01-31T12:00:00+0100" } }
  expect_failures = [var.replication]
}

run "stream_batch_size_zero" {
  command = plan
  variables { replication = { stream_batch_size = 0 } }
  expect_failures = [var.replication]
}

run "stream_batch_size_over_limit" {
  command = plan
  variables { replication = { stream_batch_size = 10001 } }
  expect_failures = [var.replication]
}

run "stream_batch_size_fractional" {
  command = plan
  variables { replication = { stream_batch_size = 10.5 } }
  expect_failures = [var.replication]
}

run "parallelization_factor_zero" {
  command = plan
  variables { replication = { stream_parallelization_factor = 0 } }
  expect_failures = [var.replication]
}

run "parallelization_factor_over_ten" {
  command = plan
  variables { replication = { stream_parallelization_factor = 11 } }
  expect_failures = [var.replication]
}

run "batching_window_over_limit" {
  command = plan
  variables { replication = { stream_maximum_batching_window_in_seconds = 301 } }
  expect_failures = [var.replication]
}

run "retry_attempts_below_minus_one" {
  command = plan
  variables { replication = { stream_maximum_retry_attempts = -2 } }
  expect_failures = [var.replication]
}

run "retry_attempts_over_limit" {
  command = plan
  variables { replication = { stream_maximum_retry_attempts = 10001 } }
  expect_failures = [var.replication]
}

run "record_age_below_sixty" {
  command = plan
  variables { replication = { stream_maximum_record_age_in_seconds = 59 } }
  expect_failures = [var.replication]
}

run "record_age_over_a_week" {
  command = plan
  variables { replication = { stream_maximum_record_age_in_seconds = 604801 } }
  expect_failures = [var.replication]
}

run "retention_over_fourteen_days" {
  command = plan
  variables { replication = { queue_message_retention_seconds = 1209601 } }
  expect_failures = [var.replication]
}

run "retention_below_a_minute" {
  command = plan
  variables { replication = { queue_message_retention_seconds = 59 } }
  expect_failures = [var.replication]
}

run "visibility_timeout_below_six_times_consumer_timeout" {
  command = plan
  variables { replication = { queue_visibility_timeout_seconds = 359 } }
  expect_failures = [var.replication]
}

run "visibility_timeout_over_twelve_hours" {
  command = plan
  variables { replication = { queue_visibility_timeout_seconds = 43201 } }
  expect_failures = [var.replication]
}

run "max_receive_count_zero" {
  command = plan
  variables { replication = { max_receive_count = 0 } }
  expect_failures = [var.replication]
}

run "max_message_bytes_too_small" {
  command = plan
  variables { replication = { max_message_bytes = 16383 } }
  expect_failures = [var.replication]
}

run "max_message_bytes_over_provider_limit" {
  command = plan
  variables { replication = { max_message_bytes = 1048576 } }
  expect_failures = [var.replication]
}

run "consumer_batch_size_over_fifo_limit" {
  command = plan
  variables { replication = { consumer_batch_size = 11 } }
  expect_failures = [var.replication]
}

run "consumer_batch_size_zero" {
  command = plan
  variables { replication = { consumer_batch_size = 0 } }
  expect_failures = [var.replication]
}

run "consumer_maximum_concurrency_one" {
  command = plan
  variables { replication = { consumer_maximum_concurrency = 1 } }
  expect_failures = [var.replication]
}

run "consumer_maximum_concurrency_over_limit" {
  command = plan
  variables { replication = { consumer_maximum_concurrency = 1001 } }
  expect_failures = [var.replication]
}

run "forwarder_memory_too_small" {
  command = plan
  variables { replication = { forwarder = { memory_size = 64 } } }
  expect_failures = [var.replication]
}

run "consumer_timeout_over_lambda_maximum" {
  command = plan
  variables { replication = { consumer = { timeout = 901 } } }
  expect_failures = [var.replication]
}

run "forwarder_max_attempts_zero" {
  command = plan
  variables { replication = { forwarder = { max_attempts = 0 } } }
  expect_failures = [var.replication]
}

run "consumer_backoff_cap_below_base" {
  command = plan
  variables { replication = { consumer = { backoff_base_ms = 500, backoff_cap_ms = 100 } } }
  expect_failures = [var.replication]
}

# modules/lambda_function accepted timeouts from 1 second; the root's 10-900 is the only range now.
run "forwarder_timeout_under_ten_seconds" {
  command = plan
  variables { replication = { forwarder = { timeout = 5, time_safety_margin_seconds = 1 } } }
  expect_failures = [var.replication]
}

run "forwarder_safety_margin_not_below_timeout" {
  command = plan
  variables { replication = { forwarder = { timeout = 30, time_safety_margin_seconds = 30 } } }
  expect_failures = [var.replication]
}

# Every validation of the root variable export rejects a bad value (and the limits themselves plan).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "limits_plan" {
  command = plan

  variables {
    export = {
      enabled      = true
      by_default   = true
      bucket_name  = "a.b-c"
      bucket_owner = "123456789012"
      prefix       = "Exports/ddb_migrate-(v2)/it's.fine!"
      expiry_days  = 1
      kms_key_arn  = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      poll_seconds = 3600
    }
  }
}

run "poll_seconds_limits_plan" {
  command = plan
  variables { export = { enabled = true, poll_seconds = 1, expiry_days = 3650 } }
}

run "by_default_without_enabled" {
  command = plan
  variables { export = { by_default = true } }
  expect_failures = [var.export]
}

run "poll_seconds_zero" {
  command = plan
  variables { export = { enabled = true, poll_seconds = 0 } }
  expect_failures = [var.export]
}

run "poll_seconds_above_an_hour" {
  command = plan
  variables { export = { enabled = true, poll_seconds = 3601 } }
  expect_failures = [var.export]
}

run "poll_seconds_fractional" {
  command = plan
  variables { export = { enabled = true, poll_seconds = 1.5 } }
  expect_failures = [var.export]
}

run "expiry_days_zero" {
  command = plan
  variables { export = { enabled = true, expiry_days = 0 } }
  expect_failures = [var.export]
}

run "expiry_days_fractional" {
  command = plan
  variables { export = { enabled = true, expiry_days = 0.5 } }
  expect_failures = [var.export]
}

run "prefix_with_leading_slash" {
  command = plan
  variables { export = { enabled = true, prefix = "/exports" } }
  expect_failures = [var.export]
}

run "prefix_with_trailing_slash" {
  command = plan
  variables { export = { enabled = true, prefix = "exports/" } }
  expect_failures = [var.export]
}

run "prefix_with_double_slash" {
  command = plan
  variables { export = { enabled = true, prefix = "exports//orders" } }
  expect_failures = [var.export]
}

run "prefix_with_a_wildcard" {
  command = plan
  variables { export = { enabled = true, prefix = "exports*" } }
  expect_failures = [var.export]
}

run "prefix_with_a_space" {
  command = plan
  variables { export = { enabled = true, prefix = "my exports" } }
  expect_failures = [var.export]
}

run "prefix_empty" {
  command = plan
  variables { export = { enabled = true, prefix = "" } }
  expect_failures = [var.export]
}

run "bucket_name_upper_case" {
  command = plan
  variables { export = { enabled = true, bucket_name = "My-Exports" } }
  expect_failures = [var.export]
}

run "bucket_name_too_short" {
  command = plan
  variables { export = { enabled = true, bucket_name = "ab" } }
  expect_failures = [var.export]
}

run "bucket_name_too_long" {
  command = plan
  variables { export = { enabled = true, bucket_name = "a234567890123456789012345678901234567890123456789012345678901234" } }
  expect_failures = [var.export]
}

run "bucket_name_with_adjacent_dots" {
  command = plan
  variables { export = { enabled = true, bucket_name = "my..exports" } }
  expect_failures = [var.export]
}

run "bucket_name_ending_with_hyphen" {
  command = plan
  variables { export = { enabled = true, bucket_name = "my-exports-" } }
  expect_failures = [var.export]
}

run "bucket_name_shaped_like_an_ip_address" {
  command = plan
  variables { export = { enabled = true, bucket_name = "192.168.5.4" } }
  expect_failures = [var.export]
}

run "bucket_name_with_a_reserved_prefix" {
  command = plan
  variables { export = { enabled = true, bucket_name = "xn--exports" } }
  expect_failures = [var.export]
}

run "bucket_name_with_a_reserved_suffix" {
  command = plan
  variables { export = { enabled = true, bucket_name = "exports-s3alias" } }
  expect_failures = [var.export]
}

run "bucket_owner_without_bucket_name" {
  command = plan
  variables { export = { enabled = true, bucket_owner = "210987654321" } }
  expect_failures = [var.export]
}

run "bucket_owner_not_an_account_id" {
  command = plan
  variables { export = { enabled = true, bucket_name = "exports", bucket_owner = "21098765432" } }
  expect_failures = [var.export]
}

run "kms_key_arn_without_bucket_name" {
  command = plan
  variables { export = { enabled = true, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" } }
  expect_failures = [var.export]
}

run "kms_key_arn_an_alias" {
  command = plan
  variables { export = { enabled = true, bucket_name = "exports", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/exports" } }
  expect_failures = [var.export]
}

run "kms_key_arn_not_an_arn" {
  command = plan
  variables { export = { enabled = true, bucket_name = "exports", kms_key_arn = "1234abcd-12ab-34cd-56ef-1234567890ab" } }
  expect_failures = [var.export]
}

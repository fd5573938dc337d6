# With replication.enabled, the plan refuses a source table whose stream cannot feed replication, and an
# in-place target: the conditions of the root module's source table data source (main.tf). The
# conditions are mutually exclusive (a disabled stream fails only the first postcondition, a wrong view type
# only the second), so each run proves its own message's condition; the messages themselves are checked
# against a real plan in tests/integration/test_replication.py.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "stream_disabled_fails_the_plan" {
  command = plan

  variables {
    replication = { enabled = true }
  }

  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_enabled         = false
      stream_arn             = ""
      stream_view_type       = ""
      server_side_encryption = []
    }
  }

  expect_failures = [data.aws_dynamodb_table.source]
}

run "stream_with_new_image_only_fails_the_plan" {
  command = plan

  variables {
    replication = { enabled = true }
  }

  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_enabled         = true
      stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
      stream_view_type       = "NEW_IMAGE"
      server_side_encryption = []
    }
  }

  expect_failures = [data.aws_dynamodb_table.source]
}

run "stream_with_keys_only_fails_the_plan" {
  command = plan

  variables {
    replication = { enabled = true }
  }

  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_enabled         = true
      stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
      stream_view_type       = "KEYS_ONLY"
      server_side_encryption = []
    }
  }

  expect_failures = [data.aws_dynamodb_table.source]
}

run "replicating_a_table_into_itself_fails_the_plan" {
  command = plan

  variables {
    replication       = { enabled = true }
    target_table_name = "orders"
  }

  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_enabled         = true
      stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
      stream_view_type       = "NEW_AND_OLD_IMAGES"
      server_side_encryption = []
    }
  }

  expect_failures = [data.aws_dynamodb_table.source]
}

run "new_and_old_images_stream_plans" {
  command = plan

  # The shared mocks' source table has a NEW_AND_OLD_IMAGES stream. The forwarder's mapping reads it
  # (replication_resources.tftest.hcl checks its event_source_arn against the same stream).
  variables {
    replication = { enabled = true }
  }

  assert {
    condition     = module.replication[0].source_stream_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    error_message = "The forwarder must read the source table's stream, got ${module.replication[0].source_stream_arn}."
  }
}

# The plan refuses a source table whose stream cannot feed replication, and an in-place target. These runs
# plan modules/replication directly: `expect_failures` cannot name objects inside a child module. The
# conditions are mutually exclusive (a disabled stream fails only the first postcondition, a wrong view type
# only the second), so each run proves its own message's condition; the messages themselves are checked
# against a real plan in tests/integration/test_replication.py.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

override_data {
  target = module.target_table.data.aws_dynamodb_table.this
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

run "stream_disabled_fails_the_plan" {
  command = plan

  module {
    source = "./modules/replication"
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

  module {
    source = "./modules/replication"
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

  module {
    source = "./modules/replication"
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

  module {
    source = "./modules/replication"
  }

  variables {
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

  module {
    source = "./modules/replication"
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

  assert {
    condition     = aws_lambda_event_source_mapping.forwarder.event_source_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    error_message = "The forwarder must read the source table's stream, got ${aws_lambda_event_source_mapping.forwarder.event_source_arn}."
  }

  assert {
    condition     = output.source_stream_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    error_message = "source_stream_arn must be the table's stream."
  }
}

# Every example under examples/ plans against the mocked provider with the inputs its README shows, and wires
# the module the way its README says. The mock replaces each example's own provider block (the localstack
# example's endpoints included), so these runs need no credentials. The shared mocks describe the tables of the
# examples' single module "ddb_migrate"; multiple-tables overrides its own. The state machine's ARN is overridden
# per deployment because the module checks it against the ARN it derives from the name (a wrong name fails the
# plan). Each run sets the example's default name: terraform.tfvars gives every run name = "demo".
#
# The integration suite applies the same examples to the embedded emulator: tests/integration/test_examples.py.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "backfill_only_copies_with_the_stamping_transform_and_no_replication" {
  command = plan

  module {
    source = "./examples/backfill-only"
  }

  variables {
    name              = "backfill-demo"
    source_table_name = "orders"
    target_table_name = "orders-v2"
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.backfill.aws_sfn_state_machine.this
    values = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:backfill-demo-backfill"
    }
  }

  assert {
    condition = [output.state_table_name, output.worker_function_name, output.worker_log_group_name] == [
      "backfill-demo-state", "backfill-demo-backfill-worker", "/aws/lambda/backfill-demo-backfill-worker",
    ]
    error_message = "The example's resources must be named after its default name, backfill-demo."
  }

  assert {
    condition = jsondecode(module.ddb_migrate.transform_steps_json) == [
      { op = "set", attribute = "schema_version", value = { N = "2" } },
      { op = "timestamp", attribute = "migrated_at", format = "iso8601" },
    ]
    error_message = "Unexpected transform: ${module.ddb_migrate.transform_steps_json}"
  }

  assert {
    condition     = module.ddb_migrate.source_table_name == "orders" && module.ddb_migrate.target_table_name == "orders-v2" && !module.ddb_migrate.in_place
    error_message = "The tables must reach the module."
  }

  assert {
    condition     = module.ddb_migrate.replication_queue_url == null && module.ddb_migrate.consumer_function_name == null
    error_message = "backfill-only must not deploy replication."
  }

  assert {
    condition     = module.ddb_migrate.powertools_layer_arn == null
    error_message = "By default the example bundles Powertools into the zips and attaches no layer."
  }
}

run "live_migration_replicates_paused_from_the_cutoff" {
  command = plan

  module {
    source = "./examples/live-migration"
  }

  variables {
    name              = "live-migration"
    source_table_name = "orders"
    target_table_name = "orders-v2"
    cutoff_timestamp  = "2026-11-21T10:00:00Z"
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.backfill.aws_sfn_state_machine.this
    values = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:live-migration-backfill"
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.replication[0].aws_sqs_queue.replication
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:live-migration-replication.fifo"
      id  = "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-replication.fifo"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-replication.fifo"
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.replication[0].aws_sqs_queue.dlq
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:live-migration-replication-dlq.fifo"
      id  = "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-replication-dlq.fifo"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-replication-dlq.fifo"
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.replication[0].aws_sqs_queue.stream_failures
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:live-migration-stream-failures"
      id  = "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-stream-failures"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-stream-failures"
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.replication[0].aws_lambda_event_source_mapping.forwarder
    values = {
      uuid = "00000000-0000-4000-8000-00000000f0f0"
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.replication[0].aws_lambda_event_source_mapping.consumer
    values = {
      uuid = "00000000-0000-4000-8000-00000000c0c0"
    }
  }

  assert {
    condition     = output.replication_cutoff_timestamp == "2026-11-21T10:00:00Z"
    error_message = "The cutoff variable must reach the replication consumer, got ${jsonencode(output.replication_cutoff_timestamp)}."
  }

  assert {
    condition = [output.forwarder_function_name, output.consumer_function_name, output.state_table_name] == [
      "live-migration-stream-forwarder", "live-migration-replication-consumer", "live-migration-state",
    ]
    error_message = "Replication must be deployed next to the backfill, named after the example's default name."
  }

  # The names ddb-migrate's --terraform-dir reads (docs/ARCHITECTURE.md), each wired to its own resource.
  assert {
    condition = [
      output.replication_queue_url, output.replication_dlq_url, output.stream_failure_queue_url,
      output.replication_queue_arn, output.replication_dlq_arn,
      output.forwarder_event_source_mapping_uuid, output.consumer_event_source_mapping_uuid,
      ] == [
      "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-replication.fifo",
      "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-replication-dlq.fifo",
      "https://sqs.us-east-1.amazonaws.com/123456789012/live-migration-stream-failures",
      "arn:aws:sqs:us-east-1:123456789012:live-migration-replication.fifo",
      "arn:aws:sqs:us-east-1:123456789012:live-migration-replication-dlq.fifo",
      "00000000-0000-4000-8000-00000000f0f0",
      "00000000-0000-4000-8000-00000000c0c0",
    ]
    error_message = "Every output that ddb-migrate replication and cutover-check read must come from its own resource."
  }

  assert {
    condition     = jsondecode(module.ddb_migrate.transform_steps_json) == [{ op = "set", attribute = "schema_version", value = { N = "2" } }]
    error_message = "Unexpected transform: ${module.ddb_migrate.transform_steps_json}"
  }
}

run "multiple_tables_deploys_one_named_instance_per_pair" {
  command = plan

  module {
    source = "./examples/multiple-tables"
  }

  variables {
    migrations = {
      orders = { source_table_name = "orders", target_table_name = "orders-v2" }
      users  = { source_table_name = "users", target_table_name = "users-v2", total_segments = 4 }
    }
  }

  override_data {
    target = module.ddb_migrate["orders"].data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      server_side_encryption = []
    }
  }

  override_data {
    target = module.ddb_migrate["orders"].data.aws_dynamodb_table.target[0]
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
      server_side_encryption = []
    }
  }

  override_data {
    target = module.ddb_migrate["users"].data.aws_dynamodb_table.source
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/users"
      server_side_encryption = []
    }
  }

  override_data {
    target = module.ddb_migrate["users"].data.aws_dynamodb_table.target[0]
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/users-v2"
      server_side_encryption = []
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate["orders"].module.backfill.aws_sfn_state_machine.this
    values = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:migrate-orders-backfill"
    }
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate["users"].module.backfill.aws_sfn_state_machine.this
    values = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:migrate-users-backfill"
    }
  }

  assert {
    condition = output.state_machine_names == {
      orders = "migrate-orders-backfill"
      users  = "migrate-users-backfill"
    }
    error_message = "One state machine per pair, named <name_prefix>-<key>: ${jsonencode(output.state_machine_names)}"
  }

  assert {
    condition = output.state_table_names == {
      orders = "migrate-orders-state"
      users  = "migrate-users-state"
    }
    error_message = "One state table per pair: ${jsonencode(output.state_table_names)}"
  }

  assert {
    condition = output.worker_function_names == {
      orders = "migrate-orders-backfill-worker"
      users  = "migrate-users-backfill-worker"
    }
    error_message = "One worker per pair: ${jsonencode(output.worker_function_names)}"
  }

  assert {
    condition = { for key, migration in module.ddb_migrate : key => [migration.source_table_name, migration.target_table_name] } == {
      orders = ["orders", "orders-v2"]
      users  = ["users", "users-v2"]
    }
    error_message = "Each instance must copy its own pair."
  }

  assert {
    condition     = keys(output.state_machine_arns) == ["orders", "users"]
    error_message = "state_machine_arns must be keyed like migrations."
  }
}

run "multiple_tables_refuses_a_key_that_cannot_be_part_of_a_name" {
  command = plan

  module {
    source = "./examples/multiple-tables"
  }

  variables {
    migrations = {
      "orders_v2" = { source_table_name = "orders", target_table_name = "orders-v2" }
    }
  }

  expect_failures = [var.migrations]
}

run "multiple_tables_refuses_an_empty_map" {
  command = plan

  module {
    source = "./examples/multiple-tables"
  }

  variables {
    migrations = {}
  }

  expect_failures = [var.migrations]
}

run "localstack_plans_the_backfill_only_module_call" {
  command = plan

  module {
    source = "./examples/localstack"
  }

  variables {
    name              = "backfill-demo"
    source_table_name = "orders"
    target_table_name = "orders-v2"
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.backfill.aws_sfn_state_machine.this
    values = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:backfill-demo-backfill"
    }
  }

  assert {
    condition = [output.state_table_name, output.worker_function_name, output.worker_log_group_name] == [
      run.backfill_only_copies_with_the_stamping_transform_and_no_replication.state_table_name,
      run.backfill_only_copies_with_the_stamping_transform_and_no_replication.worker_function_name,
      run.backfill_only_copies_with_the_stamping_transform_and_no_replication.worker_log_group_name,
    ]
    error_message = "With the same inputs, the localstack example must deploy what backfill-only deploys."
  }

  assert {
    condition = jsondecode(module.ddb_migrate.transform_steps_json) == [
      { op = "set", attribute = "schema_version", value = { N = "2" } },
      { op = "timestamp", attribute = "migrated_at", format = "iso8601" },
    ]
    error_message = "Unexpected transform: ${module.ddb_migrate.transform_steps_json}"
  }

  assert {
    condition     = var.endpoint == "http://localhost.localstack.cloud:4566"
    error_message = "The endpoint must default to LocalStack's."
  }
}

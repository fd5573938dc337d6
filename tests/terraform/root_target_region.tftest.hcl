# A target table in another region (variable target_region): what the Lambdas are told, the regional ARNs their
# roles name, what pre-warm may change, and the values the variable refuses. The mocked provider's region is
# us-east-1 (mocks/aws.tfmock.hcl).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  # The same name in both regions: the common case of moving a table, and not an in-place migration.
  target_table_name = "orders"
  target_region     = "eu-west-1"
  replication       = { enabled = true, cutoff_timestamp = "2026-11-21T00:00:00Z" }
}

run "every_lambda_reaches_the_target_by_its_arn_in_its_region" {
  command = plan

  assert {
    condition = alltrue([for environment in [
      module.backfill.worker_environment_variables,
      module.replication[0].consumer_environment_variables,
      module.replication[0].forwarder_environment_variables,
      ] : environment["TARGET_TABLE"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders" && environment["TARGET_REGION"] == "eu-west-1"
    ])
    error_message = "The worker, consumer and forwarder must name the target by its ARN in eu-west-1 and make clients of that region."
  }

  assert {
    condition     = !contains(keys(module.backfill.worker_environment_variables), "TARGET_ROLE_ARN")
    error_message = "A target in this account needs no role."
  }

  assert {
    condition     = !module.backfill.in_place && output.target_table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    error_message = "Equal table names in two regions are two tables, not an in-place migration."
  }

  assert {
    condition     = output.cross_account == null
    error_message = "A target in this account has nothing to set up in another account."
  }
}

run "iam_names_the_target_table_in_its_region" {
  command = plan

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement.Resource if statement.Sid == "WriteTargetTable"] == [
      "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    ]
    error_message = "The worker's target statement must name the eu-west-1 table: ${module.backfill.worker_role_policies["dynamodb"]}"
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement.Resource if statement.Sid == "ReadSourceTable"] == [
      "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    ]
    error_message = "The source stays the us-east-1 table of the same name."
  }

  assert {
    condition = (
      [for statement in jsondecode(module.replication[0].consumer_role_policies["dynamodb"]).Statement : statement.Resource if statement.Sid == "ApplyToTargetTable"] == ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders"]
      && [for statement in jsondecode(module.replication[0].forwarder_role_policies["dynamodb"]).Statement : statement.Resource if statement.Sid == "ReadTargetKeySchema"] == ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders"]
    )
    error_message = "The consumer and the forwarder must name the eu-west-1 table."
  }
}

run "replication_into_a_same_named_table_of_another_region_is_allowed" {
  command = plan

  assert {
    condition     = length(module.replication) == 1
    error_message = "A table of the source's name in another region is another table: replication must be allowed."
  }
}

run "prewarm_changes_only_tables_in_the_workers_region" {
  command = plan

  variables {
    prewarm = { enabled = true }
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["capacity"]).Statement : statement.Resource if statement.Sid == "ChangeTableCapacity"] == [
      ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]
    ]
    error_message = "Pre-warm leaves a target in another region alone, so the worker may change the source only: ${module.backfill.worker_role_policies["capacity"]}"
  }
}

run "a_target_key_in_another_region_is_used_through_dynamodb_of_that_region" {
  command = plan

  variables {
    target_account = {
      account_id  = "222233334444"
      kms_key_arn = "arn:aws:kms:eu-west-1:222233334444:key/0d1e2f3a-1111-2222-3333-444455556666"
    }
  }

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["kms"]).Statement == [{
      Sid       = "UseTargetTableKeyThroughDynamoDB"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:DescribeKey"]
      Resource  = ["arn:aws:kms:eu-west-1:222233334444:key/0d1e2f3a-1111-2222-3333-444455556666"]
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.eu-west-1.amazonaws.com" } }
    }]
    error_message = "The target's key is used by DynamoDB in the target's region: ${module.backfill.worker_role_policies["kms"]}"
  }

  assert {
    condition = [for statement in jsondecode(module.replication[0].consumer_role_policies["kms"]).Statement : statement.Condition if statement.Sid == "UseTargetTableKey"] == [
      { StringEquals = { "kms:ViaService" = "dynamodb.eu-west-1.amazonaws.com" } }
    ]
    error_message = "The consumer uses the target's key through DynamoDB in the target's region."
  }

  assert {
    condition     = module.backfill.worker_environment_variables["TARGET_TABLE"] == "arn:aws:dynamodb:eu-west-1:222233334444:table/orders" && output.cross_account.target_table_arn == "arn:aws:dynamodb:eu-west-1:222233334444:table/orders"
    error_message = "A target in another account and region is named by its ARN in both."
  }
}

run "naming_the_providers_region_is_the_same_region" {
  command = plan

  variables {
    target_table_name = "orders-v2"
    target_region     = "us-east-1"
  }

  assert {
    condition     = module.backfill.worker_environment_variables["TARGET_TABLE"] == "orders-v2" && !contains(keys(module.backfill.worker_environment_variables), "TARGET_REGION")
    error_message = "The provider's own region must behave as an unset target_region: the table by its name, no regional client."
  }
}

run "region_must_look_like_a_region" {
  command = plan

  variables {
    target_region = "eu_west_1"
  }

  expect_failures = [var.target_region]
}

run "target_account_key_must_be_in_the_target_region" {
  command = plan

  variables {
    target_account = { account_id = "222233334444", kms_key_arn = "arn:aws:kms:us-east-1:222233334444:key/abc" }
  }

  expect_failures = [var.target_account]
}

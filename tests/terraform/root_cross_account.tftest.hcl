# A target table in another account: what the Lambdas are told, what their roles may do, and what the module
# hands the target's account for either way of granting access (assumed role or resource-based policy).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

override_resource {
  override_during = plan
  target          = module.backfill.module.worker.aws_iam_role.this
  values          = { arn = "arn:aws:iam::123456789012:role/demo-backfill-worker" }
}

override_resource {
  override_during = plan
  target          = module.replication[0].module.forwarder.aws_iam_role.this
  values          = { arn = "arn:aws:iam::123456789012:role/demo-stream-forwarder" }
}

override_resource {
  override_during = plan
  target          = module.replication[0].module.consumer.aws_iam_role.this
  values          = { arn = "arn:aws:iam::123456789012:role/demo-replication-consumer" }
}

variables {
  # The same name in both accounts: the common case, and not an in-place migration.
  target_table_name = "orders"
  replication       = { enabled = true, cutoff_timestamp = "2026-11-21T00:00:00Z" }
}

run "assumed_role_reaches_the_target_through_sts_only" {
  command = plan

  variables {
    target_account = {
      account_id  = "222233334444"
      role_arn    = "arn:aws:iam::222233334444:role/ddb-migrate-target"
      external_id = "orders-migration"
    }
  }

  assert {
    condition     = module.backfill.worker_environment_variables["TARGET_TABLE"] == "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
    error_message = "The worker must name the target by its ARN in the other account."
  }

  assert {
    condition     = module.backfill.worker_environment_variables["TARGET_ROLE_ARN"] == "arn:aws:iam::222233334444:role/ddb-migrate-target" && module.backfill.worker_environment_variables["TARGET_ROLE_EXTERNAL_ID"] == "orders-migration"
    error_message = "The worker must be told which role to assume, with its external ID."
  }

  assert {
    condition = alltrue([for environment in [module.replication[0].consumer_environment_variables, module.replication[0].forwarder_environment_variables] :
      environment["TARGET_TABLE"] == "arn:aws:dynamodb:us-east-1:222233334444:table/orders" && environment["TARGET_ROLE_ARN"] == "arn:aws:iam::222233334444:role/ddb-migrate-target"
    ])
    error_message = "The consumer and the forwarder must reach the target the same way as the worker."
  }

  assert {
    condition     = !module.backfill.in_place
    error_message = "Equal table names in two accounts are two tables, not an in-place migration."
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement if !contains(["ReadSourceTable", "ReadAutoScalingTargets", "TrackRunState"], statement.Sid)] == [{
      Sid      = "AssumeTargetAccountRole"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole"]
      Resource = "arn:aws:iam::222233334444:role/ddb-migrate-target"
    }]
    error_message = "With a role, the worker's own policy grants sts:AssumeRole on exactly that role and nothing on the target table: ${module.backfill.worker_role_policies["dynamodb"]}"
  }

  assert {
    condition     = [for statement in jsondecode(module.replication[0].consumer_role_policies["dynamodb"]).Statement : statement.Sid] == ["AssumeTargetAccountRole", "RereadSourceItems"] && jsondecode(module.replication[0].forwarder_role_policies["dynamodb"]).Statement[0].Resource == "arn:aws:iam::222233334444:role/ddb-migrate-target"
    error_message = "The consumer and forwarder assume the role instead of calling the target table directly."
  }

  assert {
    condition = jsondecode(output.cross_account.role_policy_json).Statement == [{
      Sid    = "MigrateIntoTargetTable"
      Effect = "Allow"
      Action = [
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
      ]
      Resource = "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
      }, {
      Sid      = "ReadTargetAutoScaling"
      Effect   = "Allow"
      Action   = "application-autoscaling:DescribeScalableTargets"
      Resource = "*"
    }]
    error_message = "The role needs exactly the actions the three Lambdas call, on the target table only, and reads the target's auto-scaling: ${output.cross_account.role_policy_json}"
  }

  assert {
    condition = jsondecode(output.cross_account.role_trust_policy_json).Statement == [{
      Sid    = "MigrationLambdas"
      Effect = "Allow"
      Principal = { AWS = [
        "arn:aws:iam::123456789012:role/demo-replication-consumer",
        "arn:aws:iam::123456789012:role/demo-stream-forwarder",
        "arn:aws:iam::123456789012:role/demo-backfill-worker",
      ] }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = "orders-migration" } }
    }]
    error_message = "The role must trust exactly the three Lambda roles, with the external ID: ${output.cross_account.role_trust_policy_json}"
  }

  assert {
    condition     = output.cross_account.table_resource_policy_json == null && output.target_table_arn == "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
    error_message = "With a role there is no resource-based policy to attach."
  }
}

run "resource_based_policy_grants_each_lambda_its_own_actions" {
  command = plan

  variables {
    target_account = {
      account_id  = "222233334444"
      kms_key_arn = "arn:aws:kms:us-east-1:222233334444:key/0d1e2f3a-1111-2222-3333-444455556666"
    }
  }

  assert {
    condition     = !contains(keys(module.backfill.worker_environment_variables), "TARGET_ROLE_ARN") && module.backfill.worker_environment_variables["TARGET_TABLE"] == "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
    error_message = "Without a role the worker calls the table by its ARN with its own credentials."
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement if statement.Sid == "WriteTargetTable"] == [{
      Sid      = "WriteTargetTable"
      Effect   = "Allow"
      Action   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"]
      Resource = "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
    }]
    error_message = "The worker's own policy must allow its target actions on the other account's table ARN."
  }

  assert {
    condition     = contains(jsondecode(module.backfill.worker_role_policies["kms"]).Statement[0].Resource, "arn:aws:kms:us-east-1:222233334444:key/0d1e2f3a-1111-2222-3333-444455556666")
    error_message = "The target table's customer managed key must be usable by the worker."
  }

  assert {
    condition = jsondecode(output.cross_account.table_resource_policy_json).Statement == [
      {
        Sid       = "DdbMigrateConsumer"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:role/demo-replication-consumer" }
        Action    = ["dynamodb:DescribeTable", "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
        Resource  = "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
      },
      {
        Sid       = "DdbMigrateForwarder"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:role/demo-stream-forwarder" }
        Action    = ["dynamodb:DescribeTable"]
        Resource  = "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
      },
      {
        Sid       = "DdbMigrateWorker"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:role/demo-backfill-worker" }
        Action    = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"]
        Resource  = "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
      },
    ]
    error_message = "The table's resource-based policy gives each Lambda role only its own actions: ${output.cross_account.table_resource_policy_json}"
  }

  assert {
    condition     = output.cross_account.role_policy_json == null && output.cross_account.role_trust_policy_json == null
    error_message = "Without a role there is no role policy."
  }
}

run "no_target_account_means_no_cross_account_output" {
  command = plan

  variables {
    target_table_name = "orders-v2"
  }

  override_data {
    target = data.aws_dynamodb_table.target[0]
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2", server_side_encryption = [] }
  }

  assert {
    condition     = output.cross_account == null && !contains(keys(module.backfill.worker_environment_variables), "TARGET_ROLE_ARN")
    error_message = "A target in this account needs nothing from another account."
  }
}

run "prewarm_cannot_reach_another_account" {
  command = plan

  variables {
    target_account = { account_id = "222233334444", role_arn = "arn:aws:iam::222233334444:role/ddb-migrate-target" }
    prewarm        = { enabled = true }
  }

  expect_failures = [var.prewarm]
}

run "account_id_must_have_twelve_digits" {
  command = plan

  variables {
    target_account = { account_id = "2222" }
  }

  expect_failures = [var.target_account]
}

run "role_must_live_in_the_target_account" {
  command = plan

  variables {
    target_account = { account_id = "222233334444", role_arn = "arn:aws:iam::999999999999:role/ddb-migrate-target" }
  }

  expect_failures = [var.target_account]
}

run "external_id_needs_a_role" {
  command = plan

  variables {
    target_account = { account_id = "222233334444", external_id = "orders-migration" }
  }

  expect_failures = [var.target_account]
}

run "kms_key_must_live_in_the_target_account" {
  command = plan

  variables {
    target_account = { account_id = "222233334444", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/abc" }
  }

  expect_failures = [var.target_account]
}

# examples/cross-account: the access role or the table policy is created in the target account, from the
# module's cross_account output.
mock_provider "aws" {
  alias           = "target"
  override_during = plan
  source          = "./tests/terraform/mocks"

  mock_data "aws_caller_identity" {
    defaults = { account_id = "222233334444", arn = "arn:aws:iam::222233334444:role/admin", user_id = "AROATARGET" }
  }
}

run "example_creates_the_access_role_in_the_target_account" {
  command = plan

  module {
    source = "./examples/cross-account"
  }

  providers = {
    aws        = aws
    aws.target = aws.target
  }

  variables {
    name                          = "cross-account"
    source_table_name             = "orders"
    target_table_name             = "orders"
    target_account_admin_role_arn = "arn:aws:iam::222233334444:role/OrganizationAccountAccessRole"
    external_id                   = "orders-migration"
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.backfill.aws_sfn_state_machine.this
    values          = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:cross-account-backfill" }
  }

  assert {
    condition     = output.target_table_arn == "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
    error_message = "The target is the table of the target account."
  }

  assert {
    condition     = aws_iam_role.target_access[0].name == "cross-account-target-access" && module.ddb_migrate.cross_account.role_arn == "arn:aws:iam::222233334444:role/cross-account-target-access"
    error_message = "The module must assume exactly the role the example creates in the target account."
  }

  assert {
    condition     = aws_iam_role.target_access[0].assume_role_policy == module.ddb_migrate.cross_account.role_trust_policy_json && aws_iam_role_policy.target_access[0].policy == module.ddb_migrate.cross_account.role_policy_json
    error_message = "The role must carry the module's trust and permission policies."
  }

  assert {
    condition     = length(aws_dynamodb_resource_policy.target) == 0
    error_message = "With assume-role access the table gets no resource-based policy."
  }
}

run "example_attaches_the_table_policy_in_the_target_account" {
  command = plan

  module {
    source = "./examples/cross-account"
  }

  providers = {
    aws        = aws
    aws.target = aws.target
  }

  variables {
    name                          = "cross-account"
    source_table_name             = "orders"
    target_table_name             = "orders-v2"
    target_account_admin_role_arn = "arn:aws:iam::222233334444:role/OrganizationAccountAccessRole"
    access                        = "resource-policy"
    replicate                     = false
  }

  override_resource {
    override_during = plan
    target          = module.ddb_migrate.module.backfill.aws_sfn_state_machine.this
    values          = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:cross-account-backfill" }
  }

  assert {
    condition     = aws_dynamodb_resource_policy.target[0].resource_arn == "arn:aws:dynamodb:us-east-1:222233334444:table/orders-v2" && aws_dynamodb_resource_policy.target[0].policy == module.ddb_migrate.cross_account.table_resource_policy_json
    error_message = "The target table must get the module's resource-based policy."
  }

  assert {
    condition     = length(aws_iam_role.target_access) == 0 && module.ddb_migrate.cross_account.role_arn == null
    error_message = "With resource-policy access there is no role to assume."
  }
}

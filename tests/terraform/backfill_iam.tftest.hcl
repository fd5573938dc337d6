# Least privilege: every role policy names exact resources and exact actions; the only "*" resources are
# the CloudWatch Logs vended-delivery statement, the worker's DescribeScalableTargets (and X-Ray when tracing is
# on), which accept nothing else.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "worker_policies_are_scoped_to_exact_resources" {
  command = plan

  assert {
    condition     = sort(keys(module.backfill.worker_role_policies)) == tolist(["dynamodb", "logs", "run-lock"])
    error_message = "The worker role should have exactly the dynamodb, logs and run-lock policies, got ${join(", ", keys(module.backfill.worker_role_policies))}."
  }

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement == [
      {
        Sid      = "ReadSourceTable"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"]
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      },
      {
        Sid      = "WriteTargetTable"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"]
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
      },
      {
        Sid      = "ReadAutoScalingTargets"
        Effect   = "Allow"
        Action   = "application-autoscaling:DescribeScalableTargets"
        Resource = "*"
      },
      {
        Sid      = "TrackRunState"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-state"
      },
    ]
    error_message = "Unexpected worker DynamoDB policy: ${module.backfill.worker_role_policies["dynamodb"]}"
  }

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["logs"]).Statement == [{
      Sid      = "WriteOwnLogGroup"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-backfill-worker:*"
    }]
    error_message = "Unexpected worker logs policy: ${module.backfill.worker_role_policies["logs"]}"
  }

  assert {
    condition = alltrue(flatten([
      for policy in values(module.backfill.worker_role_policies) : [
        for statement in jsondecode(policy).Statement : (statement.Sid == "ReadAutoScalingTargets" || !contains(flatten([statement.Resource]), "*")) && !anytrue([for action in flatten([statement.Action]) : endswith(action, "*")])
      ]
    ]))
    error_message = "No worker statement may use a wildcard resource or action, but DescribeScalableTargets, which accepts no resource-level permission."
  }

  assert {
    condition     = alltrue([for policy in values(module.backfill.worker_role_policies) : !strcontains(policy, "dynamodb:DeleteItem") && !strcontains(policy, "dynamodb:DeleteTable")])
    error_message = "The worker must never get DeleteItem or DeleteTable."
  }
}

run "state_machine_policies_are_scoped_to_exact_resources" {
  command = plan

  assert {
    condition     = sort(keys(module.backfill.state_machine_role_policies)) == tolist(["distributed-map", "invoke-worker", "log-delivery"])
    error_message = "Unexpected state machine policies: ${join(", ", keys(module.backfill.state_machine_role_policies))}."
  }

  assert {
    condition = jsondecode(module.backfill.state_machine_role_policies["invoke-worker"]).Statement == [{
      Sid    = "InvokeWorker"
      Effect = "Allow"
      Action = "lambda:InvokeFunction"
      Resource = [
        "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker",
        "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker:*",
      ]
    }]
    error_message = "Unexpected invoke policy: ${module.backfill.state_machine_role_policies["invoke-worker"]}"
  }

  assert {
    condition = jsondecode(module.backfill.state_machine_role_policies["distributed-map"]).Statement == [
      {
        Sid      = "StartMapRunChildren"
        Effect   = "Allow"
        Action   = "states:StartExecution"
        Resource = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill"
      },
      {
        Sid      = "ManageMapRunChildren"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"]
        Resource = "arn:aws:states:us-east-1:123456789012:execution:demo-backfill/*"
      },
    ]
    error_message = "Unexpected Distributed Map policy: ${module.backfill.state_machine_role_policies["distributed-map"]}"
  }

  assert {
    condition     = module.backfill.state_machine_static_arn == output.state_machine_arn
    error_message = "The static ARN the role is scoped to must be the state machine's ARN."
  }

  assert {
    condition = [
      for policy in values(module.backfill.state_machine_role_policies) : [
        for statement in jsondecode(policy).Statement : statement.Sid if contains(flatten([statement.Resource]), "*")
      ]
    ] == [[], [], ["VendedLogDelivery"]]
    error_message = "Only the vended log delivery statement may use Resource \"*\"."
  }

  assert {
    condition = sort(jsondecode(module.backfill.state_machine_role_policies["log-delivery"]).Statement[0].Action) == tolist([
      "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
    ])
    error_message = "The log delivery statement should hold exactly the vended log delivery actions."
  }
}

run "cleanup_grants_scan_on_the_target" {
  command = plan

  variables {
    allow_target_cleanup = true
  }

  assert {
    condition = [
      for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement.Action if statement.Sid == "WriteTargetTable"
    ] == [["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:Scan"]]
    error_message = "allow_target_cleanup should add dynamodb:Scan (the keys to delete) and dynamodb:DescribeContinuousBackups (the point-in-time recovery guard) on the target table."
  }
}

run "in_place_grants_the_pitr_check_on_the_table" {
  command = plan

  variables {
    target_table_name = "orders"
  }

  assert {
    condition = [
      for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement.Action if statement.Sid == "WriteTargetTable"
    ] == [["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups"]]
    error_message = "An in-place deployment should allow dynamodb:DescribeContinuousBackups on the table, for the point-in-time recovery guard."
  }
}

run "run_lock_may_describe_only_the_state_machines_own_executions" {
  command = plan

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["run-lock"]).Statement == [{
      Sid      = "CheckRunLockHolder"
      Effect   = "Allow"
      Action   = "states:DescribeExecution"
      Resource = "arn:aws:states:us-east-1:123456789012:execution:demo-backfill:*"
    }]
    error_message = "The worker may only DescribeExecution its own state machine's executions (not the Map Run children): ${module.backfill.worker_role_policies["run-lock"]}"
  }
}

run "tracing_adds_xray_statements" {
  command = plan

  variables {
    tracing_enabled = true
  }

  assert {
    condition     = jsondecode(module.backfill.state_machine_role_policies["xray"]).Statement[0].Sid == "XRayWrite" && jsondecode(module.backfill.worker_role_policies["xray"]).Statement[0].Resource == "*"
    error_message = "Tracing should add an X-Ray policy to both roles."
  }
}

run "customer_managed_key_is_granted_through_dynamodb_only" {
  # The tables' own keys (server_side_encryption of the aws_dynamodb_table data sources) take the same
  # path; mocked data sources cannot carry that nested block, so the state table's key stands in here.
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/state-key"
  }

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["kms"]).Statement == [{
      Sid       = "UseTableKeysThroughDynamoDB"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:DescribeKey"]
      Resource  = ["arn:aws:kms:us-east-1:123456789012:key/state-key"]
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.us-east-1.amazonaws.com" } }
    }]
    error_message = "Unexpected KMS policy: ${try(module.backfill.worker_role_policies["kms"], "none")}"
  }
}

# Every statement of every IAM role policy of the root module, with every feature on (replication, pre-warm,
# export, alarms, cleanup, tracing, a customer managed key), names exact resources. The roles and their policies are
# enumerated below; tests/unit/test_iam_policies.py fails when a module gains an IAM policy resource or a Lambda
# that these outputs do not cover.
#
# Resource "*" is allowed only for the statements listed in star_resource_statements, each because AWS accepts
# nothing narrower for its actions:
#   VendedLogDelivery      - CloudWatch Logs vended log delivery (Step Functions logging): logs:*LogDelivery,
#                            DescribeLogGroups, DescribeResourcePolicies, PutResourcePolicy have no resource types.
#   ListStreams            - dynamodb:ListStreams has no resource type.
#   XRayWrite              - X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling* have no resource types.
#   ReadAutoScalingTargets - application-autoscaling:DescribeScalableTargets has no resource type.
# ARNs ending in a wildcard are allowed only as listed in wildcard_resources: a resource of ours followed by ":*"
# or "/*" (its log streams, function versions, the state machine's Map Run children; the worker's run lock
# only the state machine's own executions; the source table's exports and the export bucket's objects under the
# deployment's prefix), and the scalable-target ARNs, whose ids are random; that statement must carry the
# DynamoDB service-namespace condition. S3 ARNs name no region or account: only the export bucket's objects.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

# The shared mock gives every log group the worker's ARN; the policies must be told apart here.
override_resource {
  override_during = plan
  target          = module.replication[0].module.forwarder.aws_cloudwatch_log_group.this
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-stream-forwarder"
  }
}

override_resource {
  override_during = plan
  target          = module.replication[0].module.consumer.aws_cloudwatch_log_group.this
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-replication-consumer"
  }
}

variables {
  allow_target_cleanup = true
  tracing_enabled      = true
  kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  replication          = { enabled = true }
  prewarm              = { enabled = true }
  export               = { enabled = true }
  alarms = {
    enabled       = true
    sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:migration-alerts"
  }
}

run "every_statement_names_exact_resources" {
  command = plan

  # The inventory: every role the module creates and every inline policy on it.
  assert {
    condition = {
      worker        = sort(keys(module.backfill.worker_role_policies))
      state_machine = sort(keys(module.backfill.state_machine_role_policies))
      forwarder     = sort(keys(module.replication[0].forwarder_role_policies))
      consumer      = sort(keys(module.replication[0].consumer_role_policies))
      } == {
      worker        = tolist(["capacity", "dynamodb", "export", "kms", "logs", "run-lock", "xray"])
      state_machine = tolist(["distributed-map", "invoke-worker", "log-delivery", "xray"])
      forwarder     = tolist(["dynamodb", "kms", "logs", "sqs", "stream", "xray"])
      consumer      = tolist(["dynamodb", "kms", "logs", "sqs", "xray"])
    }
    error_message = "The set of role policies changed; audit the new ones here. Got: ${jsonencode({ worker = keys(module.backfill.worker_role_policies), state_machine = keys(module.backfill.state_machine_role_policies), forwarder = keys(module.replication[0].forwarder_role_policies), consumer = keys(module.replication[0].consumer_role_policies) })}"
  }

  # Sids identify statements in the assertions below and in CloudTrail's access-denied messages.
  assert {
    condition = alltrue(flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          length(distinct([for statement in jsondecode(policy).Statement : try(statement.Sid, "")])) == length(jsondecode(policy).Statement),
          alltrue([for statement in jsondecode(policy).Statement : can(regex("^[A-Za-z0-9]+$", statement.Sid))]),
        ]
      ]
    ]))
    error_message = "Every statement needs a Sid (letters and digits), unique within its policy."
  }

  assert {
    condition = flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          for statement in jsondecode(policy).Statement : "${role}/${name}/${try(statement.Sid, "?")}"
          if statement.Effect != "Allow" || try(statement.NotAction, null) != null || try(statement.NotResource, null) != null || try(statement.Principal, null) != null
        ]
      ]
    ]) == []
    error_message = "Role policies only Allow, with Action and Resource (no NotAction, NotResource or Principal)."
  }

  assert {
    condition = flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          for statement in jsondecode(policy).Statement : "${role}/${name}/${statement.Sid}"
          if anytrue([for action in flatten([statement.Action]) : strcontains(action, "*")])
        ]
      ]
    ]) == []
    error_message = "No statement may use a wildcard action."
  }

  assert {
    condition = sort(flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          for statement in jsondecode(policy).Statement : "${role}/${name}/${statement.Sid}"
          if contains(flatten([statement.Resource]), "*")
        ]
      ]
      ])) == tolist([
      # star_resource_statements: see the header for why each one cannot be narrower.
      "consumer/xray/XRayWrite",
      "forwarder/stream/ListStreams",
      "forwarder/xray/XRayWrite",
      "state_machine/log-delivery/VendedLogDelivery",
      "state_machine/xray/XRayWrite",
      "worker/dynamodb/ReadAutoScalingTargets",
      "worker/xray/XRayWrite",
    ])
    error_message = "Resource \"*\" is reserved for the documented statements (see the header of this file). Statements with it: ${jsonencode(sort(flatten([for role, policies in { worker = module.backfill.worker_role_policies, state_machine = module.backfill.state_machine_role_policies, forwarder = module.replication[0].forwarder_role_policies, consumer = module.replication[0].consumer_role_policies } : [for name, policy in policies : [for statement in jsondecode(policy).Statement : "${role}/${name}/${statement.Sid}" if contains(flatten([statement.Resource]), "*")]]])))}"
  }

  assert {
    condition = flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          for statement in jsondecode(policy).Statement : [
            for resource in flatten([statement.Resource]) : "${role}/${name}/${statement.Sid}: ${resource}"
            if resource != "*" && !can(regex("^arn:aws:[a-z0-9-]+:us-east-1:123456789012:[^*]+(:\\*|/\\*)?$", resource)) && resource != "arn:aws:s3:::demo-export-20240101000000000000000001/ddb-migrate/demo/*"
          ]
        ]
      ]
    ]) == []
    error_message = "Every other resource must be an ARN of this partition, region and account, with a wildcard only at its end, or the export bucket's objects under the deployment's prefix."
  }

  assert {
    condition = sort(flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          for statement in jsondecode(policy).Statement : [
            for resource in flatten([statement.Resource]) : "${role}/${name}/${statement.Sid}: ${resource}"
            if resource != "*" && strcontains(resource, "*")
          ]
        ]
      ]
      ])) == tolist([
      # wildcard_resources
      "consumer/logs/WriteOwnLogGroup: arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-replication-consumer:*",
      "forwarder/logs/WriteOwnLogGroup: arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-stream-forwarder:*",
      "state_machine/distributed-map/ManageMapRunChildren: arn:aws:states:us-east-1:123456789012:execution:demo-backfill/*",
      "state_machine/invoke-worker/InvokeWorker: arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker:*",
      "worker/capacity/RaiseAutoScalingMinimum: arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/*",
      "worker/export/DescribeSourceExports: arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/*",
      "worker/export/ReadExportObjects: arn:aws:s3:::demo-export-20240101000000000000000001/ddb-migrate/demo/*",
      "worker/export/WriteExportObjects: arn:aws:s3:::demo-export-20240101000000000000000001/ddb-migrate/demo/*",
      "worker/logs/WriteOwnLogGroup: arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-backfill-worker:*",
      "worker/run-lock/CheckRunLockHolder: arn:aws:states:us-east-1:123456789012:execution:demo-backfill:*",
    ])
    error_message = "ARN wildcards are reserved for the documented resources (see the header of this file). Wildcard resources: ${jsonencode(sort(flatten([for role, policies in { worker = module.backfill.worker_role_policies, state_machine = module.backfill.state_machine_role_policies, forwarder = module.replication[0].forwarder_role_policies, consumer = module.replication[0].consumer_role_policies } : [for name, policy in policies : [for statement in jsondecode(policy).Statement : [for resource in flatten([statement.Resource]) : "${role}/${name}/${statement.Sid}: ${resource}" if resource != "*" && strcontains(resource, "*")]]]])))}"
  }

  assert {
    condition = [
      for statement in jsondecode(module.backfill.worker_role_policies["capacity"]).Statement :
      statement.Condition.StringEquals["application-autoscaling:service-namespace"] if statement.Sid == "RaiseAutoScalingMinimum"
    ] == ["dynamodb"]
    error_message = "RegisterScalableTarget on every scalable target must be limited to DynamoDB's targets by condition."
  }

  # A customer managed key is usable only through the service that owns the data: DynamoDB (tables, streams),
  # SQS (queues) or S3 (the export bucket).
  assert {
    condition = flatten([
      for role, policies in {
        worker        = module.backfill.worker_role_policies
        state_machine = module.backfill.state_machine_role_policies
        forwarder     = module.replication[0].forwarder_role_policies
        consumer      = module.replication[0].consumer_role_policies
        } : [
        for name, policy in policies : [
          for statement in jsondecode(policy).Statement : "${role}/${name}/${statement.Sid}"
          if anytrue([for action in flatten([statement.Action]) : startswith(action, "kms:")]) &&
          !contains(["dynamodb.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"], try(statement.Condition.StringEquals["kms:ViaService"], ""))
        ]
      ]
    ]) == []
    error_message = "Every KMS statement needs a kms:ViaService condition naming DynamoDB, SQS or S3."
  }

  assert {
    condition = [
      for statement in jsondecode(module.backfill.worker_role_policies["export"]).Statement : statement.Condition.StringEquals["kms:ViaService"]
      if statement.Sid == "UseExportBucketKeyThroughS3"
    ] == ["s3.us-east-1.amazonaws.com"]
    error_message = "The export bucket, created with the deployment's key, is used through S3 only."
  }
}

locals {
  # Wait between two capacity checks while a table is UPDATING (the worker gives up after 90 raise checks and
  # 60 reset attempts: 15 and 10 minutes).
  capacity_check_interval_seconds = 10

  state_machine_policies = merge(
    {
      invoke-worker = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Sid      = "InvokeWorker"
          Effect   = "Allow"
          Action   = "lambda:InvokeFunction"
          Resource = [module.worker.function_arn, "${module.worker.function_arn}:*"]
        }]
      })
      distributed-map = jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Sid      = "StartMapRunChildren"
            Effect   = "Allow"
            Action   = "states:StartExecution"
            Resource = local.state_machine_arn
          },
          {
            # RedriveExecution: a parent redriven from the console after an uncatchable failure (such as
            # States.DataLimitExceeded) redrives its Map Run's failed children; ddb-migrate redrive itself starts
            # a new execution instead, since a caught failure ends in the Fail state.
            Sid      = "ManageMapRunChildren"
            Effect   = "Allow"
            Action   = ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"]
            Resource = local.map_run_children_arn
          },
        ]
      })
      log-delivery = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Sid    = "VendedLogDelivery"
          Effect = "Allow"
          Action = [
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
          ]
          # Step Functions logs through CloudWatch Logs vended log delivery, whose actions support no
          # resource-level permissions: "*" is the only resource they accept.
          Resource = "*"
        }]
      })
    },
    var.lambda_settings.tracing_enabled ? {
      xray = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Sid    = "XRayWrite"
          Effect = "Allow"
          Action = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
          # X-Ray's actions support no resource-level permissions.
          Resource = "*"
        }]
      })
    } : {},
  )
}

resource "aws_iam_role" "state_machine" {
  name = "${local.state_machine_name}-sfn"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "StepFunctionsAssumeRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "states.amazonaws.com" }
      # Only this account's state machines may assume the role (confused-deputy guard).
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  for_each = local.state_machine_policies

  name   = each.key
  role   = aws_iam_role.state_machine.id
  policy = each.value
}

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (default 30 days, every CloudWatch value allowed); a migration's logs are operational, and a year is the caller's choice, not a default.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.lambda_settings.log_retention_days
  kms_key_id        = var.lambda_settings.kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_284:X-Ray tracing is tracing_enabled, off by default: a run of thousands of segments would record a trace per child execution and worker invocation.
  name       = local.state_machine_name
  type       = "STANDARD"
  role_arn   = aws_iam_role.state_machine.arn
  definition = local.state_machine_definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    level                  = var.state_machine_log_level
    include_execution_data = var.state_machine_log_level == "ALL"
  }

  tracing_configuration {
    enabled = var.lambda_settings.tracing_enabled
  }

  tags = var.tags

  # CreateStateMachine checks that the role may deliver logs, so the policies must be in place first.
  depends_on = [aws_iam_role_policy.state_machine]

  lifecycle {
    # prewarm.enabled with a target in another account is refused by the root module's prewarm variable.
    postcondition {
      condition     = self.arn == local.state_machine_arn
      error_message = "The state machine's ARN ${self.arn} differs from the one its role was scoped to (${local.state_machine_arn})."
    }
  }
}

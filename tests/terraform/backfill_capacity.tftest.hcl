# Capacity pre-warm (prewarm.enabled): the capacity states around the Maps, every failure after the raise
# going through the reset before Failed, the worker's environment, and the capacity IAM statements (only when
# enabled, on exact resources, "*" only where AWS accepts nothing else).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "disabled_by_default_keeps_the_plain_graph_and_policies" {
  command = plan

  assert {
    condition = sort(keys(jsondecode(module.backfill.state_machine_definition).States)) == sort([
      "Plan", "CleanupChoice", "CleanupMap", "CleanupHandedOff", "CleanupNextPass?", "CleanupNextPass",
      "CopyMap", "CopyHandedOff", "CopyNextPass?", "CopyNextPass", "Summarize", "Succeeded", "ReportFailure", "Failed",
    ])
    error_message = "Without prewarm.enabled the state machine must have no capacity states."
  }

  assert {
    condition     = !contains(keys(module.backfill.worker_role_policies), "capacity")
    error_message = "Without prewarm.enabled the worker must get no capacity permissions."
  }

  assert {
    # Every setting is in the environment (the Lambdas keep no defaults of their own); PREWARM_ALLOWED false
    # makes the plan refuse a run that asks for pre-warm.
    condition     = module.backfill.worker_environment_variables["PREWARM_ALLOWED"] == "false"
    error_message = "Without prewarm.enabled the worker's environment must say pre-warm is not allowed (the plan then refuses it)."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Summarize.Parameters.Payload == { action = "summarize", "run.$" = "$.run" } &&
      !can(jsondecode(module.backfill.state_machine_definition).States.Summarize.Catch)
    )
    error_message = "Without prewarm.enabled Summarize keeps its payload and has no Catch."
  }
}

run "prewarm_states_before_the_maps" {
  command = plan

  variables {
    prewarm = { enabled = true }
  }

  assert {
    condition = sort(keys(jsondecode(module.backfill.state_machine_definition).States)) == sort([
      "Plan", "PrewarmChoice", "NoPrewarm", "CaptureCapacity", "CaptureFailed", "RaiseCapacity", "CapacityReady?",
      "WaitForCapacity", "CheckCapacity", "CleanupChoice", "CleanupMap", "CleanupHandedOff", "CleanupNextPass?",
      "CleanupNextPass", "CopyMap", "CopyHandedOff", "CopyNextPass?", "CopyNextPass", "ResetChoice", "ResetCapacity",
      "ResetPending?", "WaitBeforeReset", "AfterReset", "Summarize", "Succeeded", "ReportFailure", "Failed",
    ])
    error_message = "Unexpected states: ${join(", ", keys(jsondecode(module.backfill.state_machine_definition).States))}"
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Plan.Next == "PrewarmChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "Failed" }]
    )
    error_message = "Plan goes to PrewarmChoice; a failing plan changed nothing and still goes straight to Failed."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.PrewarmChoice.Choices == [{ Variable = "$.run.prewarm", IsPresent = true, Next = "CaptureCapacity" }] &&
      jsondecode(module.backfill.state_machine_definition).States.PrewarmChoice.Default == "NoPrewarm" &&
      jsondecode(module.backfill.state_machine_definition).States.NoPrewarm.ResultPath == "$.capacity" &&
      jsondecode(module.backfill.state_machine_definition).States.NoPrewarm.Result == { prewarmed = false, original = null, raise = null, reset = null } &&
      jsondecode(module.backfill.state_machine_definition).States.NoPrewarm.Next == "CleanupChoice"
    )
    error_message = "A run without prewarm settings skips the capacity states with $.capacity.prewarmed = false."
  }

  assert {
    condition = [for name in ["CaptureCapacity", "RaiseCapacity", "CheckCapacity", "ResetCapacity"] : jsondecode(module.backfill.state_machine_definition).States[name].Parameters.Payload.action] == [
      "capacity_capture", "capacity_raise", "capacity_status", "capacity_reset",
    ]
    error_message = "Each capacity task sends its worker action."
  }

  assert {
    condition = alltrue([for name in ["CaptureCapacity", "RaiseCapacity", "CheckCapacity", "ResetCapacity"] : (
      jsondecode(module.backfill.state_machine_definition).States[name].Resource == "arn:aws:states:::lambda:invoke" &&
      jsondecode(module.backfill.state_machine_definition).States[name].Parameters.FunctionName == "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker" &&
      jsondecode(module.backfill.state_machine_definition).States[name].Parameters.Payload["run.$"] == "$.run" &&
      jsondecode(module.backfill.state_machine_definition).States[name].ResultPath == "$.capacity" &&
      jsondecode(module.backfill.state_machine_definition).States[name].ResultSelector == {
        "prewarmed.$" = "$.Payload.prewarmed", "original.$" = "$.Payload.original", "raise.$" = "$.Payload.raise", "reset.$" = "$.Payload.reset"
      } &&
      [for retrier in jsondecode(module.backfill.state_machine_definition).States[name].Retry : retrier.ErrorEquals] == [
        ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException", "Lambda.Unknown"],
        ["Lambda.TooManyRequestsException"],
      ]
    )])
    error_message = "Capacity tasks invoke the worker with the run, keep their state in $.capacity only, and retry Lambda's transient errors."
  }

  assert {
    condition = (
      !can(jsondecode(module.backfill.state_machine_definition).States.CaptureCapacity.Parameters.Payload["capacity.$"]) &&
      alltrue([for name in ["RaiseCapacity", "CheckCapacity", "ResetCapacity"] : jsondecode(module.backfill.state_machine_definition).States[name].Parameters.Payload["capacity.$"] == "$.capacity"])
    )
    error_message = "Raise, check and reset receive the captured capacity; capture starts it."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CaptureCapacity.Next == "RaiseCapacity" &&
      jsondecode(module.backfill.state_machine_definition).States.CaptureCapacity.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "CaptureFailed" }] &&
      jsondecode(module.backfill.state_machine_definition).States.CaptureFailed.Result.prewarmed == false &&
      jsondecode(module.backfill.state_machine_definition).States.CaptureFailed.ResultPath == "$.capacity" &&
      jsondecode(module.backfill.state_machine_definition).States.CaptureFailed.Next == "ReportFailure"
    )
    error_message = "A failed capture changed nothing: it reports the failure without a reset."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.RaiseCapacity.Next == "CapacityReady?" &&
      jsondecode(module.backfill.state_machine_definition).States["CapacityReady?"].Choices == [{ Variable = "$.capacity.raise.ready", BooleanEquals = true, Next = "CleanupChoice" }] &&
      jsondecode(module.backfill.state_machine_definition).States["CapacityReady?"].Default == "WaitForCapacity" &&
      jsondecode(module.backfill.state_machine_definition).States.WaitForCapacity == { Type = "Wait", Seconds = 10, Next = "CheckCapacity" } &&
      jsondecode(module.backfill.state_machine_definition).States.CheckCapacity.Next == "CapacityReady?"
    )
    error_message = "Raise, then check every 10 s until the tables are ready (the worker caps the checks)."
  }
}

run "every_failure_after_the_raise_goes_through_the_reset" {
  command = plan

  variables {
    prewarm = { enabled = true }
  }

  assert {
    condition = [for name in ["RaiseCapacity", "CheckCapacity"] : jsondecode(module.backfill.state_machine_definition).States[name].Catch] == [
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetCapacity" }],
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetCapacity" }],
    ]
    error_message = "A failure while raising or waiting resets what was already raised."
  }

  assert {
    condition = [for name in ["CleanupMap", "CleanupHandedOff", "CopyMap", "CopyHandedOff"] : jsondecode(module.backfill.state_machine_definition).States[name].Catch] == [
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetChoice" }],
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetChoice" }],
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetChoice" }],
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetChoice" }],
    ]
    error_message = "A failing Map, or a failure between its passes, goes through the reset before ReportFailure."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States["CleanupNextPass?"].Default == "CopyMap" &&
      jsondecode(module.backfill.state_machine_definition).States["CopyNextPass?"].Default == "ResetChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ResultPath == null &&
      jsondecode(module.backfill.state_machine_definition).States.CleanupMap.ResultPath == null
    )
    error_message = "A successful copy goes through the reset before Summarize."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.ResetChoice.Choices == [{ Variable = "$.capacity.prewarmed", BooleanEquals = true, Next = "ResetCapacity" }] &&
      jsondecode(module.backfill.state_machine_definition).States.ResetChoice.Default == "AfterReset" &&
      jsondecode(module.backfill.state_machine_definition).States.ResetCapacity.Next == "ResetPending?" &&
      jsondecode(module.backfill.state_machine_definition).States["ResetPending?"].Choices == [{ Variable = "$.capacity.reset.pending", BooleanEquals = true, Next = "WaitBeforeReset" }] &&
      jsondecode(module.backfill.state_machine_definition).States["ResetPending?"].Default == "AfterReset" &&
      jsondecode(module.backfill.state_machine_definition).States.WaitBeforeReset == { Type = "Wait", Seconds = 10, Next = "ResetCapacity" }
    )
    error_message = "The reset runs for pre-warmed runs and repeats after a Wait while a table is UPDATING."
  }

  assert {
    condition     = jsondecode(module.backfill.state_machine_definition).States.ResetCapacity.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.capacity.reset_error", Next = "AfterReset" }]
    error_message = "A failing reset must not mask the run's result: its error is kept in $.capacity and the run goes on to its own outcome."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.AfterReset.Choices == [{ Variable = "$.failure", IsPresent = true, Next = "ReportFailure" }] &&
      jsondecode(module.backfill.state_machine_definition).States.AfterReset.Default == "Summarize"
    )
    error_message = "After the reset, a run that failed reports its failure and a run that succeeded is summarized."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Summarize.Parameters.Payload == { action = "summarize", "run.$" = "$.run", "capacity.$" = "$.capacity" } &&
      jsondecode(module.backfill.state_machine_definition).States.Summarize.OutputPath == "$.Payload" &&
      jsondecode(module.backfill.state_machine_definition).States.Summarize.Next == "Succeeded" &&
      jsondecode(module.backfill.state_machine_definition).States.Summarize.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ReportFailure" }]
    )
    error_message = "Summarize puts the capacity report into the output; a refused summary (incomplete run) is reported with it."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.Parameters.Payload == { action = "report_failure", "run.$" = "$.run", "error.$" = "$.failure", "capacity.$" = "$.capacity" } &&
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.ResultPath == "$.failure" &&
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.Next == "Failed" &&
      jsondecode(module.backfill.state_machine_definition).States.Failed == { Type = "Fail", ErrorPath = "$.failure.Error", CausePath = "$.failure.Cause" }
    )
    error_message = "ReportFailure puts the reset report into the cause; Failed keeps its ErrorPath/CausePath contract."
  }

  assert {
    condition = alltrue([
      for name, state in jsondecode(module.backfill.state_machine_definition).States : !contains(["$", "$.run", "$.segments"], coalesce(try(state.ResultPath, "none"), "none")) || name == "Plan"
    ])
    error_message = "Only Plan may write $, $.run or $.segments."
  }

  assert {
    condition = alltrue([
      for name, state in jsondecode(module.backfill.state_machine_definition).States : alltrue([
        for catcher in try(state.Catch, []) : contains(["Failed", "CaptureFailed", "ReportFailure", "ResetChoice", "ResetCapacity", "AfterReset"], catcher.Next)
      ])
    ])
    error_message = "Every Catch leads to the reset, to the failure report, or (Plan, before anything changed) to Failed."
  }
}

run "worker_environment_carries_the_defaults" {
  command = plan

  variables {
    prewarm = {
      enabled                   = true
      by_default                = false
      read_capacity_units       = 20000
      write_capacity_units      = 8000
      warm_throughput_on_demand = true
    }
  }

  assert {
    condition = [for key in ["PREWARM_ALLOWED", "DEFAULT_PREWARM", "DEFAULT_PREWARM_RCU", "DEFAULT_PREWARM_WCU", "DEFAULT_PREWARM_WARM_THROUGHPUT"] : module.backfill.worker_environment_variables[key]] == [
      "true", "false", "20000", "8000", "true",
    ]
    error_message = "The prewarm variable must reach the worker's environment."
  }
}

run "capacity_permissions_only_on_the_two_tables" {
  command = plan

  variables {
    prewarm = { enabled = true }
  }

  assert {
    condition     = sort(keys(module.backfill.worker_role_policies)) == tolist(["capacity", "dynamodb", "logs", "run-lock"])
    error_message = "With prewarm.enabled the worker gets exactly one more policy, capacity."
  }

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["capacity"]).Statement == [
      {
        Sid    = "ChangeTableCapacity"
        Effect = "Allow"
        Action = ["dynamodb:DescribeTable", "dynamodb:UpdateTable"]
        Resource = [
          "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
          "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2",
        ]
      },
      {
        Sid      = "RaiseAutoScalingMinimum"
        Effect   = "Allow"
        Action   = "application-autoscaling:RegisterScalableTarget"
        Resource = "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/*"
        Condition = {
          StringEquals = {
            "application-autoscaling:service-namespace" = "dynamodb"
            "application-autoscaling:scalable-dimension" = [
              "dynamodb:table:ReadCapacityUnits",
              "dynamodb:table:WriteCapacityUnits",
              "dynamodb:index:ReadCapacityUnits",
              "dynamodb:index:WriteCapacityUnits",
            ]
          }
        }
      },
    ]
    error_message = "Unexpected capacity policy: ${module.backfill.worker_role_policies["capacity"]}"
  }

  assert {
    condition = [
      for statement in jsondecode(module.backfill.worker_role_policies["capacity"]).Statement : statement.Sid if contains(flatten([statement.Resource]), "*")
    ] == []
    error_message = "The capacity policy names its resources; DescribeScalableTargets (Resource \"*\") is in the dynamodb policy, for every run."
  }

  assert {
    condition = alltrue([
      for policy in values(module.backfill.worker_role_policies) : !strcontains(policy, "iam:") && !strcontains(policy, "dynamodb:DeleteTable") && !strcontains(policy, "application-autoscaling:Deregister")
    ])
    error_message = "Pre-warm needs no iam:PassRole / iam:CreateServiceLinkedRole, and never deletes tables or scalable targets."
  }

  assert {
    condition     = sort(keys(module.backfill.state_machine_role_policies)) == tolist(["distributed-map", "invoke-worker", "log-delivery"])
    error_message = "The state machine's role needs nothing new: the worker makes the capacity calls."
  }
}

run "in_place_capacity_policy_names_the_table_once" {
  command = plan

  variables {
    target_table_name = "orders"
    prewarm           = { enabled = true }
  }

  override_data {
    target = data.aws_dynamodb_table.target[0]
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      server_side_encryption = []
    }
  }

  assert {
    condition     = jsondecode(module.backfill.worker_role_policies["capacity"]).Statement[0].Resource == ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]
    error_message = "An in-place migration changes the capacity of its one table."
  }
}

run "prewarm_read_units_out_of_range" {
  command = plan
  variables {
    prewarm = { enabled = true, read_capacity_units = 0 }
  }
  expect_failures = [var.prewarm]
}

run "prewarm_write_units_above_the_quota" {
  command = plan
  variables {
    prewarm = { enabled = true, write_capacity_units = 40001 }
  }
  expect_failures = [var.prewarm]
}

run "prewarm_units_must_be_whole" {
  command = plan
  variables {
    prewarm = { read_capacity_units = 1.5 }
  }
  expect_failures = [var.prewarm]
}

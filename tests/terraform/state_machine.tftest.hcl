# The rendered definition follows the state graph of docs/ARCHITECTURE.md.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

override_data {
  target = module.backfill.data.aws_dynamodb_table.source
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    server_side_encryption = []
  }
}

override_data {
  target = module.backfill.module.target_table.data.aws_dynamodb_table.this
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    server_side_encryption = []
  }
}

variables {
  name                         = "demo"
  source_table_name            = "orders"
  target_table_name            = "orders-v2"
  max_concurrency              = 250
  tolerated_failure_percentage = 12.5
  worker                       = { timeout = 600, time_safety_margin_seconds = 30 }
}

run "top_level_graph" {
  command = plan

  assert {
    condition     = jsondecode(module.backfill.state_machine_definition).StartAt == "Plan"
    error_message = "The state machine must start at Plan."
  }

  assert {
    condition = sort(keys(jsondecode(module.backfill.state_machine_definition).States)) == sort([
      "Plan", "CleanupChoice", "CleanupMap", "CopyMap", "Summarize", "Succeeded", "ReportFailure", "Failed",
    ])
    error_message = "Unexpected top-level states: ${join(", ", keys(jsondecode(module.backfill.state_machine_definition).States))}"
  }

  assert {
    condition = [for name in ["Plan", "Summarize", "ReportFailure"] : jsondecode(module.backfill.state_machine_definition).States[name].Parameters.FunctionName] == [
      "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker",
      "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker",
      "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker",
    ]
    error_message = "Every task must invoke the worker by ARN."
  }

  assert {
    condition = [for name in ["Plan", "Summarize", "ReportFailure"] : jsondecode(module.backfill.state_machine_definition).States[name].Parameters.Payload.action] == [
      "plan", "summarize", "report_failure",
    ]
    error_message = "Each task must send its worker action."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Plan.Parameters.Payload["input.$"] == "$" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Parameters.Payload["execution.$"] == "$$.Execution.Name" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Resource == "arn:aws:states:::lambda:invoke"
    )
    error_message = "Plan must pass the execution input and name to the worker."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Plan.Next == "CleanupChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "Failed" }]
    )
    error_message = "Plan goes to CleanupChoice and catches every error into Failed."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CleanupChoice.Choices == [{ Variable = "$.run.cleanup", BooleanEquals = true, Next = "CleanupMap" }] &&
      jsondecode(module.backfill.state_machine_definition).States.CleanupChoice.Default == "CopyMap"
    )
    error_message = "CleanupChoice runs CleanupMap when the run asks for cleanup, else CopyMap."
  }

  assert {
    condition = [
      jsondecode(module.backfill.state_machine_definition).States.CleanupMap.Next,
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.Next,
      jsondecode(module.backfill.state_machine_definition).States.Summarize.Next,
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.Next,
    ] == ["CopyMap", "Summarize", "Succeeded", "Failed"]
    error_message = "CleanupMap -> CopyMap -> Summarize -> Succeeded; ReportFailure -> Failed."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Succeeded.Type == "Succeed" &&
      jsondecode(module.backfill.state_machine_definition).States.Failed == { Type = "Fail", ErrorPath = "$.failure.Error", CausePath = "$.failure.Cause" }
    )
    error_message = "Failed must take error and cause from $.failure."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.Parameters.Payload == { action = "report_failure", "run.$" = "$.run", "error.$" = "$.failure" } &&
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.ResultSelector == { "Error.$" = "$.Payload.error", "Cause.$" = "$.Payload.cause" } &&
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.ResultPath == "$.failure"
    )
    error_message = "ReportFailure sends the caught error and stores the readable error and cause in $.failure."
  }
}

run "distributed_maps" {
  command = plan

  assert {
    condition = alltrue([
      for name in ["CleanupMap", "CopyMap"] : (
        jsondecode(module.backfill.state_machine_definition).States[name].Type == "Map" &&
        jsondecode(module.backfill.state_machine_definition).States[name].ItemProcessor.ProcessorConfig == { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" } &&
        jsondecode(module.backfill.state_machine_definition).States[name].ItemsPath == "$.segments" &&
        jsondecode(module.backfill.state_machine_definition).States[name].MaxConcurrency == 250 &&
        jsondecode(module.backfill.state_machine_definition).States[name].ToleratedFailurePercentage == 12.5 &&
        jsondecode(module.backfill.state_machine_definition).States[name].ResultPath == null &&
        jsondecode(module.backfill.state_machine_definition).States[name].Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ReportFailure" }]
      )
    ])
    error_message = "Both Maps must be Distributed (STANDARD children) over $.segments with the configured limits, discard results and catch into ReportFailure."
  }

  assert {
    condition = [for name in ["CleanupMap", "CopyMap"] : jsondecode(module.backfill.state_machine_definition).States[name].ItemSelector] == [
      { "run.$" = "$.run", phase = "cleanup", "segment.$" = "$$.Map.Item.Value" },
      { "run.$" = "$.run", "phase.$" = "$.run.mode", "segment.$" = "$$.Map.Item.Value" },
    ]
    error_message = "Each Map hands every child the run, its phase (cleanup; copy or verify as the run's mode) and its segment number."
  }

  assert {
    condition     = jsondecode(module.backfill.state_machine_definition).States.CleanupMap.ItemProcessor == jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor
    error_message = "Both Maps must run the same child workflow."
  }

  assert {
    condition     = length(regexall("\"ToleratedFailurePercentage\": 12\\.5,", module.backfill.state_machine_definition)) == 2
    error_message = "ToleratedFailurePercentage must be rendered as a float literal."
  }
}

run "segment_child_loop" {
  command = plan

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.StartAt == "Init" &&
      sort(keys(jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States)) == tolist(["Continue", "Init", "MoreInSegment?", "Segment", "SegmentDone"])
    )
    error_message = "The child must be Init -> Segment -> MoreInSegment? -> Continue | SegmentDone."
  }

  assert {
    condition = jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Init == {
      Type       = "Pass"
      Parameters = { "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment", start_key = null }
      Next       = "Segment"
    }
    error_message = "Init must start the segment with a null start_key."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Segment.Parameters == {
        FunctionName = "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker"
        Payload      = { action = "segment", "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment", "start_key.$" = "$.start_key" }
      } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Segment.ResultPath == "$.result" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Segment.TimeoutSeconds == 660 &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Segment.Next == "MoreInSegment?"
    )
    error_message = "Segment must invoke the worker with the segment action, time out a minute after the worker and store its result in $.result."
  }

  assert {
    condition = [
      for retrier in jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Segment.Retry : {
        errors = retrier.ErrorEquals, jitter = retrier.JitterStrategy, capped = can(retrier.MaxDelaySeconds)
      }
      ] == [{
        errors = [
          "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
          "Lambda.TooManyRequestsException", "Lambda.Unknown", "States.Timeout",
        ]
        jitter = "FULL"
        capped = true
    }]
    error_message = "Segment retries exactly the transient Lambda errors and States.Timeout, with full jitter and a capped delay."
  }

  assert {
    condition = alltrue([
      for name in ["Plan", "Summarize", "ReportFailure"] : alltrue([
        for retrier in jsondecode(module.backfill.state_machine_definition).States[name].Retry : retrier.JitterStrategy == "FULL" && retrier.MaxDelaySeconds > 0 && !contains(retrier.ErrorEquals, "States.ALL")
      ])
    ])
    error_message = "Every retrier uses full jitter and a capped delay, and none retries States.ALL (that would redo failed work)."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States["MoreInSegment?"].Choices == [{ Variable = "$.result.done", BooleanEquals = false, Next = "Continue" }] &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States["MoreInSegment?"].Default == "SegmentDone"
    )
    error_message = "MoreInSegment? loops while the worker says the segment is not done."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Continue.Parameters["start_key.$"] == "$.result.last_evaluated_key" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.Continue.Next == "Segment" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.SegmentDone == { Type = "Pass", Result = {}, End = true }
    )
    error_message = "Continue resumes from the last evaluated key; SegmentDone ends the child with {}."
  }
}

run "whole_percentages_render_as_floats" {
  command = plan

  variables {
    tolerated_failure_percentage = 0
    max_concurrency              = 0
  }

  assert {
    condition     = length(regexall("\"ToleratedFailurePercentage\": 0\\.0,", module.backfill.state_machine_definition)) == 2
    error_message = "A whole percentage must still be rendered as a float literal (0.0)."
  }

  assert {
    condition     = jsondecode(module.backfill.state_machine_definition).States.CopyMap.MaxConcurrency == 0
    error_message = "max_concurrency 0 must be passed through (no limit)."
  }
}

run "names_and_log_groups" {
  command = plan

  assert {
    condition = [output.state_machine_name, output.state_machine_log_group_name, output.worker_function_name, output.worker_log_group_name, output.state_table_name] == [
      "demo-backfill", "/aws/vendedlogs/states/demo-backfill", "demo-backfill-worker", "/aws/lambda/demo-backfill-worker", "demo-state",
    ]
    error_message = "Unexpected resource names."
  }
}

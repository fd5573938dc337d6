# The definition (modules/backfill/definition.tf) follows the state graph of docs/ARCHITECTURE.md.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
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
      "Plan", "CleanupChoice", "CleanupMap", "CleanupHandedOff", "CleanupNextPass?", "CleanupNextPass",
      "CopyMap", "CopyHandedOff", "CopyNextPass?", "CopyNextPass", "Summarize", "Succeeded", "ReportFailure", "Failed",
    ])
    error_message = "Unexpected top-level states: ${join(", ", keys(jsondecode(module.backfill.state_machine_definition).States))}"
  }

  assert {
    condition = alltrue([
      for name, state in jsondecode(module.backfill.state_machine_definition).States :
      state.Parameters.FunctionName == "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker" if state.Type == "Task"
    ])
    error_message = "Every task must invoke the worker by ARN."
  }

  assert {
    condition = [for name in ["Plan", "CleanupHandedOff", "CopyHandedOff", "Summarize", "ReportFailure"] : jsondecode(module.backfill.state_machine_definition).States[name].Parameters.Payload.action] == [
      "plan", "handed_off", "handed_off", "summarize", "report_failure",
    ]
    error_message = "Each task must send its worker action."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Plan.Parameters.Payload["input.$"] == "$" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Parameters.Payload["execution.$"] == "$$.Execution.Name" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Parameters.Payload["execution_arn.$"] == "$$.Execution.Id" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Resource == "arn:aws:states:::lambda:invoke" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.ResultSelector == {
        "run.$" = "$.Payload.run", passes = { "cleanup.$" = "$.Payload.segments", "copy.$" = "$.Payload.segments" }
      }
    )
    error_message = "Plan must pass the execution input, name and ARN (the run lock's holder) to the worker, and give each Map its list of segments."
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
      jsondecode(module.backfill.state_machine_definition).States.CleanupHandedOff.Next,
      jsondecode(module.backfill.state_machine_definition).States["CleanupNextPass?"].Default,
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.Next,
      jsondecode(module.backfill.state_machine_definition).States.CopyHandedOff.Next,
      jsondecode(module.backfill.state_machine_definition).States["CopyNextPass?"].Default,
      jsondecode(module.backfill.state_machine_definition).States.Summarize.Next,
      jsondecode(module.backfill.state_machine_definition).States.ReportFailure.Next,
    ] == ["CleanupHandedOff", "CleanupNextPass?", "CopyMap", "CopyHandedOff", "CopyNextPass?", "Summarize", "Succeeded", "Failed"]
    error_message = "CleanupMap -> its next pass or CopyMap -> its next pass or Summarize -> Succeeded; ReportFailure -> Failed."
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

run "state_names_are_unique_in_the_whole_machine" {
  # Step Functions rejects a definition that repeats a state name anywhere, nested processors included.
  command = plan

  assert {
    condition = length(flatten([
      keys(jsondecode(module.backfill.state_machine_definition).States),
      [for state in values(jsondecode(module.backfill.state_machine_definition).States) : keys(state.ItemProcessor.States) if state.Type == "Map"],
      ])) == length(distinct(flatten([
        keys(jsondecode(module.backfill.state_machine_definition).States),
        [for state in values(jsondecode(module.backfill.state_machine_definition).States) : keys(state.ItemProcessor.States) if state.Type == "Map"],
    ])))
    error_message = "State names repeat across the machine."
  }
}

run "distributed_maps" {
  command = plan

  assert {
    condition = alltrue([
      for name in ["Cleanup", "Copy"] : (
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].Type == "Map" &&
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].ItemProcessor.ProcessorConfig == { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" } &&
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].ItemsPath == "$.passes.${lower(name)}" &&
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].MaxConcurrency == 250 &&
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].ToleratedFailurePercentage == 12.5 &&
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].ResultPath == null &&
        jsondecode(module.backfill.state_machine_definition).States["${name}Map"].Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ReportFailure" }]
      )
    ])
    error_message = "Both Maps must be Distributed (STANDARD children) over their own segment list with the configured limits, discard results and catch into ReportFailure."
  }

  assert {
    condition = [for name in ["CleanupMap", "CopyMap"] : jsondecode(module.backfill.state_machine_definition).States[name].ItemSelector] == [
      { "run.$" = "$.run", phase = "cleanup", "segment.$" = "$$.Map.Item.Value" },
      { "run.$" = "$.run", "phase.$" = "$.run.mode", "segment.$" = "$$.Map.Item.Value" },
    ]
    error_message = "Each Map hands every child the run, its phase (cleanup; copy or verify as the run's mode) and its segment number."
  }

  assert {
    condition     = replace(jsonencode(jsondecode(module.backfill.state_machine_definition).States.CleanupMap.ItemProcessor), "Cleanup", "Copy") == jsonencode(jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor)
    error_message = "Both Maps must run the same child workflow, with their own state names."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States["CopyNextPass?"].Choices == [{ Variable = "$.handed_off.segments[0]", IsPresent = true, Next = "CopyNextPass" }] &&
      jsondecode(module.backfill.state_machine_definition).States.CopyNextPass == { Type = "Pass", InputPath = "$.handed_off.segments", ResultPath = "$.passes.copy", Next = "CopyMap" } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyHandedOff.ResultSelector == { "segments.$" = "$.Payload.segments" } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyHandedOff.Parameters.Payload == { action = "handed_off", "run.$" = "$.run", "phase.$" = "$.run.mode" }
    )
    error_message = "After a Map, the segments its children handed off run again in a new Map Run, until none is left."
  }
}

run "segment_child_loop" {
  command = plan

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.StartAt == "CopyInit" &&
      sort(keys(jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States)) == tolist(["CopyContinue", "CopyHandOff", "CopyInit", "CopyMoreInSegment?", "CopySegment", "CopySegmentDone"])
    )
    error_message = "The child must be Init -> Segment -> MoreInSegment? -> Continue | HandOff | SegmentDone."
  }

  assert {
    condition = jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyInit == {
      Type       = "Pass"
      Parameters = { "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment", start_key = null, invocations = 1 }
      Next       = "CopySegment"
    }
    error_message = "Init must start the segment with a null start_key and count its first invocation."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegment.Parameters == {
        FunctionName = "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker"
        Payload      = { action = "segment", "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment", "start_key.$" = "$.start_key" }
      } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegment.ResultPath == "$.result" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegment.TimeoutSeconds == 660 &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegment.Next == "CopyMoreInSegment?"
    )
    error_message = "Segment must invoke the worker with the segment action, time out a minute after the worker and store its result in $.result."
  }

  assert {
    condition = [
      for retrier in jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegment.Retry : {
        errors = retrier.ErrorEquals, jitter = retrier.JitterStrategy, capped = can(retrier.MaxDelaySeconds)
      }
      ] == [
      {
        errors = [
          "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
          "Lambda.ClientExecutionTimeoutException", "Lambda.Unknown", "Sandbox.Timedout", "States.Timeout",
          "CheckpointConflict",
        ]
        jitter = "FULL"
        capped = true
      },
      { errors = ["Lambda.TooManyRequestsException"], jitter = "FULL", capped = true },
    ]
    error_message = "Segment retries the transient Lambda errors, timeouts and checkpoint conflicts (it resumes from its checkpoint), and throttling on its own."
  }

  assert {
    condition = alltrue([
      for name, state in jsondecode(module.backfill.state_machine_definition).States : alltrue([
        for retrier in state.Retry : retrier.JitterStrategy == "FULL" && retrier.MaxDelaySeconds > 0 && !contains(retrier.ErrorEquals, "States.ALL")
      ]) if state.Type == "Task"
    ])
    error_message = "Every retrier uses full jitter and a capped delay, and none retries States.ALL (that would redo failed work)."
  }

  assert {
    condition = alltrue([
      for states in concat(
        [jsondecode(module.backfill.state_machine_definition).States],
        [for state in values(jsondecode(module.backfill.state_machine_definition).States) : state.ItemProcessor.States if state.Type == "Map"],
        ) : alltrue([
          for name, state in states : anytrue([for retrier in state.Retry : contains(retrier.ErrorEquals, "Lambda.TooManyRequestsException")]) if state.Type == "Task"
      ])
    ])
    error_message = "Every Lambda task, in the Maps' processors too, must retry Lambda.TooManyRequestsException."
  }

  assert {
    # Running invocations hold the account's concurrency for up to 15 minutes: a throttled task must keep
    # trying for longer than that even when full jitter draws short delays (the sum of the capped delays is
    # what full jitter spreads around; its mean is half of it).
    condition = alltrue([
      for name, state in jsondecode(module.backfill.state_machine_definition).States : alltrue([
        for retrier in state.Retry : sum([
          for attempt in range(retrier.MaxAttempts) : min(retrier.MaxDelaySeconds, retrier.IntervalSeconds * pow(retrier.BackoffRate, attempt))
        ]) / 2 > 1800 if contains(retrier.ErrorEquals, "Lambda.TooManyRequestsException")
      ]) if state.Type == "Task"
    ])
    error_message = "The throttling retrier must outlast a 15-minute invocation with room to spare (mean total delay over 30 minutes)."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States["CopyMoreInSegment?"].Choices == [
        { Variable = "$.result.done", BooleanEquals = true, Next = "CopySegmentDone" },
        { Variable = "$.invocations", NumericGreaterThanEquals = 250, Next = "CopyHandOff" },
      ] &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States["CopyMoreInSegment?"].Default == "CopyContinue"
    )
    error_message = "MoreInSegment? loops while the segment is not done, and hands it off after worker.invocations_per_child invocations."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyContinue.Parameters["start_key.$"] == "$.result.last_evaluated_key" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyContinue.Parameters["invocations.$"] == "States.MathAdd($.invocations, 1)" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyContinue.Next == "CopySegment" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegmentDone == { Type = "Pass", Result = {}, End = true } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyHandOff.ResultSelector == { "handed_off.$" = "$.Payload.handed_off" } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyHandOff.ResultPath == "$" &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyHandOff.Parameters.Payload == { action = "hand_off", "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment" } &&
      jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopyHandOff.End
    )
    error_message = "Continue resumes from the last evaluated key and counts the invocation; HandOff records the hand-off; both ends leave a tiny output (the Map gathers up to 10,000 of them within 256 KiB)."
  }
}

run "history_budget_per_child" {
  # The worst case of one loop, computed from the definition: the Segment task's 5 events and the Choice's and
  # Continue's 2 each, plus 3 per retry with every retrier's attempts used. The largest budget stays under the
  # 25,000 history events of an execution, with room for the child's first and last events.
  command = plan

  variables {
    worker = { timeout = 600, time_safety_margin_seconds = 30, invocations_per_child = 250 }
  }

  assert {
    condition = jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States["CopyMoreInSegment?"].Choices[1].NumericGreaterThanEquals * (
      5 + 2 + 2 + 3 * sum([for retrier in jsondecode(module.backfill.state_machine_definition).States.CopyMap.ItemProcessor.States.CopySegment.Retry : retrier.MaxAttempts])
    ) + 20 < 25000
    error_message = "A child of the largest invocation budget could exceed Step Functions' 25,000 history events when its invocations are retried."
  }
}

run "history_budget_over_the_cap_is_refused" {
  command = plan

  variables {
    worker = { invocations_per_child = 251 }
  }

  expect_failures = [var.worker]
}

run "whole_percentages_are_numbers" {
  command = plan

  variables {
    tolerated_failure_percentage = 0
  }

  assert {
    condition     = jsondecode(module.backfill.state_machine_definition).States.CopyMap.ToleratedFailurePercentage == 0
    error_message = "A whole percentage is passed as the number it is: Step Functions takes any number from 0 to 100."
  }
}

run "concurrency_is_bounded_by_default" {
  command = plan

  variables {
    max_concurrency = null
  }

  assert {
    condition     = jsondecode(module.backfill.state_machine_definition).States.CopyMap.MaxConcurrency == 50
    error_message = "Without max_concurrency the Maps must still be bounded (50), never unlimited."
  }
}

run "unbounded_concurrency_is_refused" {
  command = plan

  variables {
    max_concurrency = 0
  }

  expect_failures = [var.max_concurrency]
}

run "reserved_concurrency_below_max_concurrency_is_refused" {
  command = plan

  variables {
    worker = { reserved_concurrency = 100 }
  }

  expect_failures = [var.worker]
}

run "reserved_concurrency_reserves_the_worker" {
  command = plan

  variables {
    worker          = { reserved_concurrency = 300 }
    max_concurrency = 300
  }

  assert {
    condition     = module.backfill.worker_reserved_concurrency == 300
    error_message = "worker.reserved_concurrency must reserve the worker's concurrency."
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

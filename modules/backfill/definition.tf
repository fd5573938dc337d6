# The backfill state machine's definition, built from one source: every Lambda task, retrier and segment
# processor below is written once and instantiated per use, with state names unique in the whole machine
# (Step Functions rejects a definition that repeats a name, nested Map processors included).
locals {
  invoke_lambda = "arn:${local.partition}:states:::lambda:invoke"

  # Lambda's own failures around an invocation: errors of the Invoke API (the invocation may not have run;
  # Lambda.ClientExecutionTimeoutException is Lambda timing out the Invoke call), and Lambda.Unknown, which also
  # covers a function that ran out of memory or time. Every worker action is safe to run again: plan and
  # resume are conditional writes, the capacity steps work from the state they are given, hand-offs set a flag,
  # and summarize and report_failure only read and record.
  lambda_service_errors = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
  ]
  lambda_service_retry = {
    ErrorEquals     = local.lambda_service_errors
    IntervalSeconds = 2
    MaxAttempts     = 6
    BackoffRate     = 2.0
    MaxDelaySeconds = 60
    JitterStrategy  = "FULL"
  }
  # Throttling means the account (or the worker's reserved concurrency) has no free execution environment,
  # and running invocations hold theirs for up to 15 minutes. The delays are capped at 5 minutes and add up
  # to more than an hour (about half that with full jitter), so a throttled task outlasts any invocation.
  lambda_throttle_retry = {
    ErrorEquals     = ["Lambda.TooManyRequestsException"]
    IntervalSeconds = 5
    MaxAttempts     = 20
    BackoffRate     = 2.0
    MaxDelaySeconds = 300
    JitterStrategy  = "FULL"
  }
  # A segment invocation may also time out (Sandbox.Timedout is how Step Functions names a function that ran
  # out of time; States.Timeout is the task's own TimeoutSeconds), or find its checkpoint moved by an earlier
  # invocation of the segment that is still running (CheckpointConflict: after a timeout, or a resumed run
  # overlapping a stopped one). Retrying is safe: the segment resumes from the checkpoint its last finished page
  # recorded, and rewriting a page is idempotent.
  segment_retry = merge(local.lambda_service_retry, {
    ErrorEquals     = concat(local.lambda_service_errors, ["Sandbox.Timedout", "States.Timeout", "CheckpointConflict"])
    MaxAttempts     = 8
    MaxDelaySeconds = 120
  })
  lambda_retries = [local.lambda_service_retry, local.lambda_throttle_retry]

  # The pre-warm state that every capacity step returns and the next one takes.
  capacity_selector = {
    "prewarmed.$" = "$.Payload.prewarmed"
    "original.$"  = "$.Payload.original"
    "raise.$"     = "$.Payload.raise"
    "reset.$"     = "$.Payload.reset"
  }
  no_capacity_change = { prewarmed = false, original = null, raise = null, reset = null }

  # Step Functions caps a STANDARD execution at 25,000 history events, and every Map child is one. A segment
  # invocation and its loop take 9 events (task 5, choice 2, pass 2) and each retry 3 more: at most 93 with every
  # retrier's attempts used (8 + 20). So a child stops after this many invocations, inside the cap even then, and
  # hands the rest of its segment to a child of the next pass (the segment resumes from its checkpoint).
  max_child_invocations = var.worker.invocations_per_child

  # One Distributed Map per phase. Its children loop over their segment's invocations; the pass states after
  # it start another Map Run for the segments that a child handed off, until none is left.
  segment_phases = {
    cleanup = { prefix = "Cleanup", phase = { phase = "cleanup" } }
    copy    = { prefix = "Copy", phase = { "phase.$" = "$.run.mode" } }
  }
  segment_maps = {
    for key, spec in local.segment_phases : key => {
      "${spec.prefix}Map" = {
        Type                       = "Map"
        Label                      = spec.prefix
        ItemsPath                  = "$.passes.${key}"
        ItemSelector               = merge({ "run.$" = "$.run", "segment.$" = "$$.Map.Item.Value" }, spec.phase)
        MaxConcurrency             = var.max_concurrency
        ToleratedFailurePercentage = var.tolerated_failure_percentage
        ItemProcessor = {
          ProcessorConfig = { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" }
          StartAt         = "${spec.prefix}Init"
          States = {
            "${spec.prefix}Init" = {
              Type       = "Pass"
              Parameters = { "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment", start_key = null, invocations = 1 }
              Next       = "${spec.prefix}Segment"
            }
            "${spec.prefix}Segment" = {
              Type     = "Task"
              Resource = local.invoke_lambda
              Parameters = {
                FunctionName = module.worker.function_arn
                Payload      = { action = "segment", "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment", "start_key.$" = "$.start_key" }
              }
              # A hung invoke surfaces as States.Timeout (retried) a minute after the worker itself would time out.
              TimeoutSeconds = var.worker.timeout + 60
              ResultSelector = { "done.$" = "$.Payload.done", "last_evaluated_key.$" = "$.Payload.last_evaluated_key" }
              ResultPath     = "$.result"
              Retry          = [local.segment_retry, local.lambda_throttle_retry]
              Next           = "${spec.prefix}MoreInSegment?"
            }
            "${spec.prefix}MoreInSegment?" = {
              Type = "Choice"
              Choices = [
                { Variable = "$.result.done", BooleanEquals = true, Next = "${spec.prefix}SegmentDone" },
                { Variable = "$.invocations", NumericGreaterThanEquals = local.max_child_invocations, Next = "${spec.prefix}HandOff" },
              ]
              Default = "${spec.prefix}Continue"
            }
            "${spec.prefix}Continue" = {
              Type = "Pass"
              Parameters = {
                "run.$"         = "$.run"
                "phase.$"       = "$.phase"
                "segment.$"     = "$.segment"
                "start_key.$"   = "$.result.last_evaluated_key"
                "invocations.$" = "States.MathAdd($.invocations, 1)"
              }
              Next = "${spec.prefix}Segment"
            }
            "${spec.prefix}HandOff" = {
              Comment  = "Near the history cap: record that the segment continues in the next pass, and end this child."
              Type     = "Task"
              Resource = local.invoke_lambda
              Parameters = {
                FunctionName = module.worker.function_arn
                Payload      = { action = "hand_off", "run.$" = "$.run", "phase.$" = "$.phase", "segment.$" = "$.segment" }
              }
              # The child's output replaces its state: the Map gathers every child's output (up to 10,000 of
              # them) within Step Functions' 256 KiB, even though ResultPath null then discards it.
              ResultSelector = { "handed_off.$" = "$.Payload.handed_off" }
              ResultPath     = "$"
              Retry          = local.lambda_retries
              End            = true
            }
            "${spec.prefix}SegmentDone" = { Type = "Pass", Result = {}, End = true }
          }
        }
        ResultPath = null
        Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = local.after_failed_map }]
        Next       = "${spec.prefix}HandedOff"
      }
      "${spec.prefix}HandedOff" = {
        Type     = "Task"
        Resource = local.invoke_lambda
        Parameters = {
          FunctionName = module.worker.function_arn
          Payload      = merge({ action = "handed_off", "run.$" = "$.run" }, spec.phase)
        }
        ResultSelector = { "segments.$" = "$.Payload.segments" }
        ResultPath     = "$.handed_off"
        Retry          = local.lambda_retries
        Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = local.after_failed_map }]
        Next           = "${spec.prefix}NextPass?"
      }
      "${spec.prefix}NextPass?" = {
        Type    = "Choice"
        Choices = [{ Variable = "$.handed_off.segments[0]", IsPresent = true, Next = "${spec.prefix}NextPass" }]
        Default = key == "cleanup" ? "CopyMap" : local.after_copy
      }
      "${spec.prefix}NextPass" = {
        Type       = "Pass"
        InputPath  = "$.handed_off.segments"
        ResultPath = "$.passes.${key}"
        Next       = "${spec.prefix}Map"
      }
    }
  }

  after_failed_map = var.prewarm.enabled ? "ResetChoice" : "ReportFailure"
  after_copy       = var.prewarm.enabled ? "ResetChoice" : "Summarize"
  # Where a planned run's segments are ready: after the plan for a Scan, after the export's files for an export.
  after_plan = var.prewarm.enabled ? "PrewarmChoice" : "CleanupChoice"
  # An export that fails has changed nothing yet (pre-warm comes after it): with pre-warm, CaptureFailed
  # records that there is nothing to reset.
  after_failed_export = var.prewarm.enabled ? "CaptureFailed" : "ReportFailure"

  plan_states = {
    Plan = {
      Type     = "Task"
      Resource = local.invoke_lambda
      Parameters = {
        FunctionName = module.worker.function_arn
        # execution_arn identifies the holder of the run lock, whose staleness the next plan checks.
        Payload = { action = "plan", "input.$" = "$", "execution.$" = "$$.Execution.Name", "execution_arn.$" = "$$.Execution.Id" }
      }
      # Each Map reads its own list of segments: the second and later passes of a Map replace it with the
      # segments handed off in the pass before.
      ResultSelector = {
        "run.$" = "$.Payload.run"
        passes  = { "cleanup.$" = "$.Payload.segments", "copy.$" = "$.Payload.segments" }
      }
      ResultPath = "$"
      Retry      = local.lambda_retries
      Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "Failed" }]
      Next       = var.export.enabled ? "SourceChoice" : local.after_plan
    }
    CleanupChoice = {
      Type    = "Choice"
      Choices = [{ Variable = "$.run.cleanup", BooleanEquals = true, Next = "CleanupMap" }]
      Default = "CopyMap"
    }
  }

  # Every export task returns the export as {arn, status}, kept in $.export beside the run.
  export_selector = { "arn.$" = "$.Payload.export.arn", "status.$" = "$.Payload.export.status" }
  export_task = {
    for action in ["export_start", "export_status", "export_files"] : action => {
      Type     = "Task"
      Resource = local.invoke_lambda
      Parameters = {
        FunctionName = module.worker.function_arn
        Payload      = merge({ action = action, "run.$" = "$.run" }, action == "export_start" ? null : { "export.$" = "$.export" })
      }
      Retry = local.lambda_retries
      Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = local.after_failed_export }]
    }
  }

  # Backfill from a point-in-time export, between the plan and the Maps; only with export.enabled. The export
  # reads the table's backup, not its capacity, so pre-warm comes after it: capacity is not held raised while
  # an export runs.
  export_states = {
    SourceChoice = {
      Comment = "Export first when the plan chose source export (the deployment's default or the execution input); a Scan run has no $.run.source."
      Type    = "Choice"
      Choices = [{
        And  = [{ Variable = "$.run.source", IsPresent = true }, { Variable = "$.run.source", StringEquals = "export" }]
        Next = "StartExport"
      }]
      Default = local.after_plan
    }
    StartExport = merge(local.export_task.export_start, {
      Comment        = "ExportTableToPointInTime of the source table, or DescribeExport of the export the run reuses."
      ResultSelector = local.export_selector
      ResultPath     = "$.export"
      Next           = "ExportReady?"
    })
    "ExportReady?" = {
      Type    = "Choice"
      Choices = [{ Variable = "$.export.status", StringEquals = "COMPLETED", Next = "ExportFiles" }]
      Default = "WaitForExport"
    }
    WaitForExport = { Type = "Wait", Seconds = var.export.poll_seconds, Next = "CheckExport" }
    CheckExport = merge(local.export_task.export_status, {
      ResultSelector = local.export_selector
      ResultPath     = "$.export"
      Next           = "ExportReady?"
    })
    ExportFiles = merge(local.export_task.export_files, {
      Comment = "One segment per data file of the export (its manifest-files.json): the Maps' lists, as Plan gives them for a Scan."
      ResultSelector = {
        "run.$" = "$.Payload.run"
        passes  = { "cleanup.$" = "$.Payload.segments", "copy.$" = "$.Payload.segments" }
      }
      ResultPath = "$"
      Next       = local.after_plan
    })
  }

  capacity_task = {
    for action in ["capacity_capture", "capacity_raise", "capacity_status", "capacity_reset"] : action => {
      Type     = "Task"
      Resource = local.invoke_lambda
      Parameters = {
        FunctionName = module.worker.function_arn
        Payload      = merge({ action = action, "run.$" = "$.run" }, action == "capacity_capture" ? null : { "capacity.$" = "$.capacity" })
      }
      ResultSelector = local.capacity_selector
      ResultPath     = "$.capacity"
      Retry          = local.lambda_retries
    }
  }

  # Pre-warm before the Maps and the reset after them, on success and on failure alike. They exist only with
  # prewarm.enabled, so a backfill-only deployment keeps the plain graph.
  prewarm_states = {
    PrewarmChoice = {
      Comment = "Pre-warm when the plan put prewarm settings into the run (the deployment's default or the execution input)."
      Type    = "Choice"
      Choices = [{ Variable = "$.run.prewarm", IsPresent = true, Next = "CaptureCapacity" }]
      Default = "NoPrewarm"
    }
    NoPrewarm = { Type = "Pass", Result = local.no_capacity_change, ResultPath = "$.capacity", Next = "CleanupChoice" }
    CaptureCapacity = merge(local.capacity_task.capacity_capture, {
      Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "CaptureFailed" }]
      Next  = "RaiseCapacity"
    })
    CaptureFailed = {
      Comment    = "Nothing was changed yet: nothing to reset."
      Type       = "Pass"
      Result     = local.no_capacity_change
      ResultPath = "$.capacity"
      Next       = "ReportFailure"
    }
    RaiseCapacity = merge(local.capacity_task.capacity_raise, {
      Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetCapacity" }]
      Next  = "CapacityReady?"
    })
    "CapacityReady?" = {
      Type    = "Choice"
      Choices = [{ Variable = "$.capacity.raise.ready", BooleanEquals = true, Next = "CleanupChoice" }]
      Default = "WaitForCapacity"
    }
    WaitForCapacity = { Type = "Wait", Seconds = local.capacity_check_interval_seconds, Next = "CheckCapacity" }
    CheckCapacity = merge(local.capacity_task.capacity_status, {
      Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ResetCapacity" }]
      Next  = "CapacityReady?"
    })
    ResetChoice = {
      Comment = "After the Maps, on success and on failure alike: put back what the pre-warm raised."
      Type    = "Choice"
      Choices = [{ Variable = "$.capacity.prewarmed", BooleanEquals = true, Next = "ResetCapacity" }]
      Default = "AfterReset"
    }
    ResetCapacity = merge(local.capacity_task.capacity_reset, {
      Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.capacity.reset_error", Next = "AfterReset" }]
      Next  = "ResetPending?"
    })
    "ResetPending?" = {
      Type    = "Choice"
      Choices = [{ Variable = "$.capacity.reset.pending", BooleanEquals = true, Next = "WaitBeforeReset" }]
      Default = "AfterReset"
    }
    WaitBeforeReset = { Type = "Wait", Seconds = local.capacity_check_interval_seconds, Next = "ResetCapacity" }
    AfterReset = {
      Comment = "The run's own result decides the outcome; the reset's report travels in $.capacity."
      Type    = "Choice"
      Choices = [{ Variable = "$.failure", IsPresent = true, Next = "ReportFailure" }]
      Default = "Summarize"
    }
  }

  # With pre-warm, the summary and the failure report carry the capacity report too.
  capacity_payload = var.prewarm.enabled ? { "capacity.$" = "$.capacity" } : null

  final_states = {
    Summarize = merge(
      {
        Type     = "Task"
        Resource = local.invoke_lambda
        Parameters = {
          FunctionName = module.worker.function_arn
          Payload      = merge({ action = "summarize", "run.$" = "$.run" }, local.capacity_payload)
        }
        OutputPath = "$.Payload"
        Retry      = local.lambda_retries
        Next       = "Succeeded"
      },
      # Without pre-warm there is nothing to report a failed summary with: the execution fails with its error.
      var.prewarm.enabled ? { Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ReportFailure" }] } : null,
    )
    Succeeded = { Type = "Succeed" }
    ReportFailure = {
      Type     = "Task"
      Resource = local.invoke_lambda
      Parameters = {
        FunctionName = module.worker.function_arn
        Payload      = merge({ action = "report_failure", "run.$" = "$.run", "error.$" = "$.failure" }, local.capacity_payload)
      }
      ResultSelector = { "Error.$" = "$.Payload.error", "Cause.$" = "$.Payload.cause" }
      ResultPath     = "$.failure"
      Retry          = local.lambda_retries
      Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.report_failure_error", Next = "Failed" }]
      Next           = "Failed"
    }
    Failed = { Type = "Fail", ErrorPath = "$.failure.Error", CausePath = "$.failure.Cause" }
  }

  state_machine_definition = jsonencode({
    Comment = "ddb-migrate bulk backfill: plan, optionally export the source table to S3 (point in time) and wait for it, optionally pre-warm the tables' capacity, optionally clean the target, copy (or, in mode verify, check) every Scan segment or export data file in a Distributed Map, reset the capacity, summarize. Built by modules/backfill/definition.tf."
    StartAt = "Plan"
    States = merge(
      local.plan_states,
      local.segment_maps.cleanup,
      local.segment_maps.copy,
      # merge() skips a null argument, which (unlike {}) has a type that matches any object.
      var.export.enabled ? local.export_states : null,
      var.prewarm.enabled ? local.prewarm_states : null,
      local.final_states,
    )
  })
}

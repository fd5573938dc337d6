# CloudWatch alarms (modules/alarms, docs/OBSERVABILITY.md): off by default, only for the features that are on,
# on the right metrics, with the SNS topic as their action. The validations of var.alarms are in
# root_validation.tftest.hcl.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "alarms_are_off_by_default" {
  command = plan

  assert {
    condition     = length(module.alarms) == 0 && output.alarm_arns == null && output.alarm_names == null
    error_message = "No alarms unless alarms.enabled; their outputs are null."
  }
}

run "without_replication_only_the_backfill_is_watched" {
  command = plan

  variables {
    alarms = {
      enabled       = true
      sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:migration-alerts"
    }
  }

  assert {
    condition = output.alarm_names == {
      backfill-executions-failed = "demo-backfill-executions-failed"
      worker-errors              = "demo-worker-errors"
    }
    error_message = "Without replication only the backfill alarms exist: ${jsonencode(output.alarm_names)}"
  }

  assert {
    condition = [for key in ["backfill-executions-failed", "worker-errors"] : [
      module.alarms[0].alarms[key].namespace,
      module.alarms[0].alarms[key].metric_name,
      module.alarms[0].alarms[key].dimensions,
      module.alarms[0].alarms[key].statistic,
      module.alarms[0].alarms[key].threshold,
      ]] == [
      ["AWS/States", "ExecutionsFailed", tomap({ StateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill" }), "Sum", 0],
      ["AWS/Lambda", "Errors", tomap({ FunctionName = "demo-backfill-worker" }), "Sum", 0],
    ]
    error_message = "Unexpected backfill alarms: ${jsonencode(module.alarms[0].alarms)}"
  }

  assert {
    condition = alltrue([
      for alarm in values(module.alarms[0].alarms) : (
        alarm.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:migration-alerts"]) &&
        alarm.ok_actions == toset(["arn:aws:sns:us-east-1:123456789012:migration-alerts"]) &&
        alarm.comparison_operator == "GreaterThanThreshold" &&
        alarm.treat_missing_data == "notBreaching" &&
        alarm.period == 60 && alarm.evaluation_periods == 1
      )
    ])
    error_message = "Every alarm notifies the topic on ALARM and OK, over one 60-second period, missing data not breaching."
  }

  assert {
    condition     = output.alarm_arns["worker-errors"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:demo-alarm"
    error_message = "alarm_arns must expose the alarms' ARNs."
  }
}

run "with_replication_every_alarm_is_created" {
  command = plan

  variables {
    replication = { enabled = true }
    alarms = {
      enabled       = true
      sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:migration-alerts"
    }
  }

  assert {
    condition = sort(keys(output.alarm_names)) == tolist([
      "backfill-executions-failed", "consumer-errors", "forwarder-iterator-age", "replication-dlq-not-empty",
      "stream-failures-not-empty", "worker-errors",
    ])
    error_message = "Unexpected alarms: ${jsonencode(keys(output.alarm_names))}"
  }

  assert {
    condition = [for key in ["replication-dlq-not-empty", "stream-failures-not-empty", "forwarder-iterator-age", "consumer-errors"] : [
      module.alarms[0].alarms[key].namespace,
      module.alarms[0].alarms[key].metric_name,
      module.alarms[0].alarms[key].dimensions,
      module.alarms[0].alarms[key].statistic,
      module.alarms[0].alarms[key].threshold,
      ]] == [
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", tomap({ QueueName = "demo-replication-dlq.fifo" }), "Maximum", 0],
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", tomap({ QueueName = "demo-stream-failures" }), "Maximum", 0],
      ["AWS/Lambda", "IteratorAge", tomap({ FunctionName = "demo-stream-forwarder" }), "Maximum", 300000],
      ["AWS/Lambda", "Errors", tomap({ FunctionName = "demo-replication-consumer" }), "Sum", 0],
    ]
    error_message = "Unexpected replication alarms: ${jsonencode(module.alarms[0].alarms)}"
  }
}

run "thresholds_periods_and_ok_notifications_are_configurable" {
  command = plan

  variables {
    replication = { enabled = true }
    alarms = {
      enabled                        = true
      sns_topic_arn                  = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:migration-alerts"
      notify_ok                      = false
      iterator_age_threshold_seconds = 120
      period_seconds                 = 300
      evaluation_periods             = 3
    }
  }

  assert {
    condition     = module.alarms[0].alarms["forwarder-iterator-age"].threshold == 120000
    error_message = "iterator_age_threshold_seconds must become the alarm's threshold in milliseconds."
  }

  assert {
    condition = alltrue([
      for alarm in values(module.alarms[0].alarms) : (
        alarm.alarm_actions == toset(["arn:aws-us-gov:sns:us-gov-west-1:123456789012:migration-alerts"]) &&
        length(alarm.ok_actions) == 0 &&
        alarm.period == 300 && alarm.evaluation_periods == 3
      )
    ])
    error_message = "notify_ok = false leaves ok_actions empty; period and evaluation periods reach every alarm."
  }
}

run "without_a_topic_the_alarms_only_change_state" {
  command = plan

  variables {
    alarms = { enabled = true }
  }

  assert {
    condition = alltrue([
      for alarm in values(module.alarms[0].alarms) : length(alarm.alarm_actions) == 0 && length(alarm.ok_actions) == 0
    ])
    error_message = "Alarms without sns_topic_arn have no actions."
  }
}

run "the_module_refuses_an_evaluation_range_cloudwatch_rejects" {
  command = plan

  # The root module's variable alarms refuses the range before any alarm is planned.
  variables {
    alarms = { enabled = true, period_seconds = 60, evaluation_periods = 1441 }
  }

  expect_failures = [var.alarms]
}

run "the_module_refuses_arns_and_names_mixed_up" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  # An internal module takes every input from the root module, defaults applied.
  variables {
    alarm_actions             = []
    ok_actions                = []
    iterator_age_threshold_ms = 300000
    period_seconds            = 60
    evaluation_periods        = 1
    tags                      = {}
    replication = {
      dlq_arn                  = "demo-replication-dlq.fifo"
      stream_failure_queue_arn = "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures"
      forwarder_function_name  = "arn:aws:lambda:us-east-1:123456789012:function:demo-stream-forwarder"
      consumer_function_name   = "demo-replication-consumer"
    }
  }

  expect_failures = [var.replication]
}

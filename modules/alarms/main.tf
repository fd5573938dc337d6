locals {
  # Every alarm compares one AWS metric with GreaterThanThreshold. Missing data is notBreaching everywhere: an
  # idle function publishes no Errors or IteratorAge, and SQS stops publishing for a queue that has been empty
  # and untouched for six hours, so no data means nothing went wrong.
  replication_alarms = var.replication == null ? {} : {
    replication-dlq-not-empty = {
      description = "Replication messages reached the dead-letter queue: the target misses these changes until they are replayed with `ddb-migrate replication redrive` (never moved back verbatim). The consumer's logs say why each failed."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      # A queue ARN ends in its name, which is the metric's dimension.
      dimensions = tomap({ QueueName = element(split(":", var.replication.dlq_arn), 5) })
      statistic  = "Maximum"
      threshold  = 0
    }
    stream-failures-not-empty = {
      description = "The stream mapping gave up on records the forwarder could not send: those changes never reach the target. Run `ddb-migrate replication redrive --stream-failures` and re-sync the listed keys (or backfill again)."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = tomap({ QueueName = element(split(":", var.replication.stream_failure_queue_arn), 5) })
      statistic   = "Maximum"
      threshold   = 0
    }
    forwarder-iterator-age = {
      description = "The stream forwarder is more than ${var.iterator_age_threshold_ms / 1000} s behind the source table's writes; stream records expire after 24 hours. Check the forwarder's errors and throttles."
      namespace   = "AWS/Lambda"
      metric_name = "IteratorAge"
      dimensions  = tomap({ FunctionName = var.replication.forwarder_function_name })
      statistic   = "Maximum"
      threshold   = var.iterator_age_threshold_ms
    }
    consumer-errors = {
      description = "Invocations of the replication consumer failed as a whole (a bad environment, a timeout or a crash, rather than one message); its messages are retried and then dead-lettered."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = tomap({ FunctionName = var.replication.consumer_function_name })
      statistic   = "Sum"
      threshold   = 0
    }
  }

  backfill_alarms = var.backfill == null ? {} : {
    backfill-executions-failed = {
      description = "A backfill run failed: its output names the failed segments and errors (`ddb-migrate status EXECUTION`). Redrive the execution or start a new run."
      namespace   = "AWS/States"
      metric_name = "ExecutionsFailed"
      dimensions  = tomap({ StateMachineArn = var.backfill.state_machine_arn })
      statistic   = "Sum"
      threshold   = 0
    }
    worker-errors = {
      description = "Invocations of the backfill worker failed: a segment gave up after its write retries, a transform or item was invalid, or a run's input was refused. The worker's logs carry the error and the segment."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = tomap({ FunctionName = var.backfill.worker_function_name })
      statistic   = "Sum"
      threshold   = 0
    }
  }

  alarms = merge(local.backfill_alarms, local.replication_alarms)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${var.name}-${each.key}"
  alarm_description = each.value.description

  namespace   = each.value.namespace
  metric_name = each.value.metric_name
  dimensions  = each.value.dimensions
  statistic   = each.value.statistic

  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  period              = var.period_seconds
  evaluation_periods  = var.evaluation_periods
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  ok_actions    = var.ok_actions

  tags = var.tags

  # The evaluated range CloudWatch accepts is checked by the root module's variable alarms.
}

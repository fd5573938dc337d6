output "alarm_arns" {
  description = "ARN of every alarm, keyed by alarm (backfill-executions-failed, worker-errors, replication-dlq-not-empty, stream-failures-not-empty, forwarder-iterator-age, consumer-errors)."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

output "alarm_names" {
  description = "Name of every alarm, keyed like alarm_arns."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "alarms" {
  description = "How every alarm is configured, keyed like alarm_arns: metric, statistic, threshold, evaluation and actions."
  value = {
    for key, alarm in aws_cloudwatch_metric_alarm.this : key => {
      namespace           = alarm.namespace
      metric_name         = alarm.metric_name
      dimensions          = alarm.dimensions
      statistic           = alarm.statistic
      comparison_operator = alarm.comparison_operator
      threshold           = alarm.threshold
      period              = alarm.period
      evaluation_periods  = alarm.evaluation_periods
      treat_missing_data  = alarm.treat_missing_data
      alarm_actions       = alarm.alarm_actions
      ok_actions          = alarm.ok_actions
    }
  }
}

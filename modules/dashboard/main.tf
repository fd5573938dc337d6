locals {
  # The ddb-migrate namespace and its one dimension are what Powertools publishes for every function
  # (docs/OBSERVABILITY.md): POWERTOOLS_METRICS_NAMESPACE and the service = POWERTOOLS_SERVICE_NAME dimension.
  namespace = var.metrics_namespace
  # Counts are summed per minute, so a widget reads "per minute" whatever time range the console shows.
  period = 60

  # Every metric and every widget has the same type (dimensions as a map, annotation a number or null), so the
  # features' lists stay lists when a feature is off and its list is empty.
  backfill_widgets = var.backfill == null ? [] : [
    {
      title         = "Backfill: items per minute"
      y_label       = "items / minute"
      annotation_ms = null
      metrics = [
        for name, label in {
          ItemsScanned = "scanned"
          ItemsWritten = "written"
          ItemsSkipped = "skipped by the transform"
          ItemsDeleted = "deleted (cleanup)"
          } : {
          namespace  = local.namespace
          name       = name
          dimensions = tomap({ service = var.backfill.worker_service })
          stat       = "Sum"
          label      = label
        }
      ]
    },
    {
      # WriteRetries rising while ItemsWritten flattens means the target's capacity is the bottleneck.
      title         = "Backfill: write retries and throttles per minute"
      y_label       = "count / minute"
      annotation_ms = null
      metrics = [
        {
          namespace  = local.namespace
          name       = "WriteRetries"
          dimensions = tomap({ service = var.backfill.worker_service })
          stat       = "Sum"
          label      = "BatchWriteItem retries"
        },
        {
          namespace  = "AWS/Lambda"
          name       = "Throttles"
          dimensions = tomap({ FunctionName = var.backfill.worker_function_name })
          stat       = "Sum"
          label      = "worker invocations throttled"
        },
      ]
    },
    {
      # A Distributed Map's Map Run publishes metrics per Map Run ARN, which is new for every run, so segment
      # failures are counted where they happen: every failed segment is a failed worker invocation.
      title         = "Backfill: segment and run failures"
      y_label       = "count / minute"
      annotation_ms = null
      metrics = concat(
        [
          {
            namespace  = "AWS/Lambda"
            name       = "Errors"
            dimensions = tomap({ FunctionName = var.backfill.worker_function_name })
            stat       = "Sum"
            label      = "failed segment invocations"
          },
        ],
        [
          for name, label in {
            ExecutionsFailed   = "runs failed"
            ExecutionsTimedOut = "runs timed out"
            ExecutionsAborted  = "runs stopped"
            } : {
            namespace  = "AWS/States"
            name       = name
            dimensions = tomap({ StateMachineArn = var.backfill.state_machine_arn })
            stat       = "Sum"
            label      = label
          }
        ],
      )
    },
  ]

  replication_widgets = var.replication == null ? [] : [
    {
      title         = "Replication: change events per minute"
      y_label       = "events / minute"
      annotation_ms = null
      metrics = [
        {
          namespace  = local.namespace
          name       = "MessagesForwarded"
          dimensions = tomap({ service = var.replication.forwarder_service })
          stat       = "Sum"
          label      = "forwarded to the queue"
        },
        {
          namespace  = local.namespace
          name       = "EventsApplied"
          dimensions = tomap({ service = var.replication.consumer_service })
          stat       = "Sum"
          label      = "applied to the target"
        },
        {
          namespace  = local.namespace
          name       = "EventsDroppedBeforeCutoff"
          dimensions = tomap({ service = var.replication.consumer_service })
          stat       = "Sum"
          label      = "dropped before the cutoff"
        },
      ]
    },
    {
      title         = "Replication: retries and failures per minute"
      y_label       = "count / minute"
      annotation_ms = null
      metrics = flatten([
        for role, service in {
          forwarder = var.replication.forwarder_service
          consumer  = var.replication.consumer_service
          } : [
          for name, what in { Retries = "retries", Failures = "failures" } : {
            namespace                 = local.namespace
            name                      = name
            dimensions                = tomap({ service = service })
            stat                      = "Sum"
            label                     = "${role} ${what}"
          }
        ]
      ])
    },
    {
      # The consumer's backlog; a DLQ or stream failure queue above zero means the target misses changes.
      title         = "Replication: queue depth"
      y_label       = "messages"
      annotation_ms = null
      metrics = [
        for queue in [
          { name = var.replication.queue_name, metric = "ApproximateNumberOfMessagesVisible", label = "queued" },
          { name = var.replication.queue_name, metric = "ApproximateNumberOfMessagesNotVisible", label = "in flight" },
          { name = var.replication.dlq_name, metric = "ApproximateNumberOfMessagesVisible", label = "dead-letter queue" },
          { name = var.replication.stream_failure_queue_name, metric = "ApproximateNumberOfMessagesVisible", label = "stream failure queue" },
          ] : {
          namespace  = "AWS/SQS"
          name       = queue.metric
          dimensions = tomap({ QueueName = queue.name })
          stat       = "Maximum"
          label      = queue.label
        }
      ]
    },
    {
      title         = "Replication: age of the oldest message"
      y_label       = "seconds"
      annotation_ms = null
      metrics = [
        for queue in [
          { name = var.replication.queue_name, label = "queue" },
          { name = var.replication.dlq_name, label = "dead-letter queue" },
          ] : {
          namespace  = "AWS/SQS"
          name       = "ApproximateAgeOfOldestMessage"
          dimensions = tomap({ QueueName = queue.name })
          stat       = "Maximum"
          label      = queue.label
        }
      ]
    },
    {
      # How far the forwarder is behind the source's writes; stream records expire after 24 hours.
      title         = "Replication: stream iterator age"
      y_label       = "milliseconds"
      annotation_ms = var.iterator_age_alarm_ms
      metrics = [
        {
          namespace  = "AWS/Lambda"
          name       = "IteratorAge"
          dimensions = tomap({ FunctionName = var.replication.forwarder_function_name })
          stat       = "Maximum"
          label      = "forwarder iterator age"
        },
      ]
    },
  ]

  # Three widgets of 8 columns to a row of the 24-column grid, each feature starting a row of its own under a
  # text widget of two rows.
  header_height    = 2
  widget_height    = 6
  backfill_rows    = ceil(length(local.backfill_widgets) / 3)
  placed_backfill  = [for index, widget in local.backfill_widgets : merge(widget, { x = (index % 3) * 8, y = local.header_height + floor(index / 3) * local.widget_height })]
  replication_top  = local.header_height + local.backfill_rows * local.widget_height
  placed_replicate = [for index, widget in local.replication_widgets : merge(widget, { x = (index % 3) * 8, y = local.replication_top + floor(index / 3) * local.widget_height })]

  metric_widgets = [
    for widget in concat(local.placed_backfill, local.placed_replicate) : {
      type   = "metric"
      x      = widget.x
      y      = widget.y
      width  = 8
      height = local.widget_height
      properties = merge(
        {
          title   = widget.title
          region  = var.region
          view    = "timeSeries"
          stacked = false
          period  = local.period
          # CloudWatch's array form: namespace, metric name, dimension name/value pairs, then the options.
          metrics = [
            for metric in widget.metrics : concat(
              [metric.namespace, metric.name],
              flatten([for dimension, value in metric.dimensions : [dimension, value]]),
              [{ stat = metric.stat, label = metric.label }],
            )
          ]
          yAxis = { left = { label = widget.y_label, min = 0, showUnits = false } }
        },
        { for key, value in { annotations = { horizontal = [{ label = "alarm threshold", value = widget.annotation_ms }] } } : key => value if widget.annotation_ms != null },
      )
    }
  ]

  header = {
    type   = "text"
    x      = 0
    y      = 0
    width  = 24
    height = local.header_height
    properties = {
      markdown = join("\n", [
        "## ddb-migrate: ${var.dashboard_name}",
        "Runs and their failed segments: `ddb-migrate runs`, `ddb-migrate status`. ${var.replication == null ? "" : "Replication: `ddb-migrate replication status`; readiness: `ddb-migrate cutover-check`. "}The metrics are described in the module's docs/OBSERVABILITY.md.",
      ])
    }
  }

  dashboard_body = jsonencode({ widgets = concat([local.header], local.metric_widgets) })

  # The region query parameter picks the region; only the commercial console has per-region hosts as well.
  console_hosts = {
    aws        = "https://${var.region}.console.aws.amazon.com"
    aws-cn     = "https://console.amazonaws.cn"
    aws-us-gov = "https://console.amazonaws-us-gov.com"
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.dashboard_name
  dashboard_body = local.dashboard_body
}

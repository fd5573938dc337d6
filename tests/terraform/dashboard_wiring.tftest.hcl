# The CloudWatch dashboard (modules/dashboard, docs/OBSERVABILITY.md): when it exists, its console URL, and that
# every widget shows a metric that exists. The ddb-migrate metrics are checked against the metric tables of
# docs/OBSERVABILITY.md, which tests/unit/test_observability_docs.py checks against the handlers' add_metric
# calls: the docs are the one list that both the code and the dashboard are held to.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "no_dashboard_by_default" {
  command = plan

  assert {
    condition     = length(module.dashboard) == 0 && output.dashboard_url == null && output.dashboard_name == null
    error_message = "Without alarms and without dashboard.enabled there is no dashboard, and its outputs are null."
  }
}

run "the_dashboard_follows_the_alarms" {
  command = plan

  variables {
    alarms = { enabled = true }
  }

  assert {
    condition     = length(module.dashboard) == 1 && output.dashboard_name == "demo-migration"
    error_message = "alarms.enabled with dashboard.enabled unset creates the dashboard <name>-migration."
  }

  assert {
    condition     = output.dashboard_url == "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/demo-migration"
    error_message = "dashboard_url must open the dashboard in the console of the deployment's region."
  }
}

run "alarms_without_the_dashboard" {
  command = plan

  variables {
    alarms    = { enabled = true }
    dashboard = { enabled = false }
  }

  assert {
    condition     = length(module.dashboard) == 0 && output.dashboard_url == null
    error_message = "dashboard.enabled = false turns the dashboard off even with alarms."
  }
}

run "every_widget_shows_a_metric_that_exists" {
  command = plan

  variables {
    dashboard   = { enabled = true, name = "orders-migration" }
    replication = { enabled = true }
  }

  assert {
    condition     = length(module.alarms) == 0 && output.dashboard_name == "orders-migration"
    error_message = "dashboard.enabled creates the dashboard without alarms, named dashboard.name."
  }

  # Every (namespace, metric) the dashboard shows; a ddb-migrate metric is named by the Lambda that publishes it
  # (its service dimension is <name>-<lambda with - for _>), as in the docs' tables.
  assert {
    condition = alltrue([
      for metric in flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]]) :
      contains([for row in regexall("(?m)^\\| `([a-z_]+)` \\| `([A-Za-z]+)` \\|", regex("(?s)\n## Metrics\n(.*?)\n## ", file("docs/OBSERVABILITY.md"))[0]) : "${row[0]}/${row[1]}"], "${metric.lambda}/${metric.name}")
      if metric.namespace == "ddb-migrate"
    ])
    error_message = "Every ddb-migrate metric on the dashboard must be one docs/OBSERVABILITY.md lists for that Lambda (and so one the code publishes): ${jsonencode([for metric in flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]]) : "${metric.lambda}/${metric.name}" if metric.namespace == "ddb-migrate" && !contains([for row in regexall("(?m)^\\| `([a-z_]+)` \\| `([A-Za-z]+)` \\|", regex("(?s)\n## Metrics\n(.*?)\n## ", file("docs/OBSERVABILITY.md"))[0]) : "${row[0]}/${row[1]}"], "${metric.lambda}/${metric.name}")])}"
  }

  # The check above passes vacuously if nothing is parsed; these are the metrics the issue asks for.
  assert {
    condition = length([for row in regexall("(?m)^\\| `([a-z_]+)` \\| `([A-Za-z]+)` \\|", regex("(?s)\n## Metrics\n(.*?)\n## ", file("docs/OBSERVABILITY.md"))[0]) : "${row[0]}/${row[1]}"]) >= 10 && alltrue([
      for wanted in [
        "ddb-migrate/backfill_worker/ItemsScanned",
        "ddb-migrate/backfill_worker/ItemsWritten",
        "ddb-migrate/backfill_worker/WriteRetries",
        "ddb-migrate/stream_forwarder/MessagesForwarded",
        "ddb-migrate/replication_consumer/EventsApplied",
        "ddb-migrate/replication_consumer/EventsDroppedBeforeCutoff",
        "AWS/Lambda/demo-backfill-worker/Throttles",
        "AWS/Lambda/demo-backfill-worker/Errors",
        "AWS/States/arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill/ExecutionsFailed",
        "AWS/SQS/demo-replication.fifo/ApproximateNumberOfMessagesVisible",
        "AWS/SQS/demo-replication.fifo/ApproximateAgeOfOldestMessage",
        "AWS/SQS/demo-replication-dlq.fifo/ApproximateNumberOfMessagesVisible",
        "AWS/SQS/demo-stream-failures/ApproximateNumberOfMessagesVisible",
        "AWS/Lambda/demo-stream-forwarder/IteratorAge",
      ] : contains([for metric in flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]]) : metric.namespace == "ddb-migrate" ? "ddb-migrate/${metric.lambda}/${metric.name}" : "${metric.namespace}/${metric.value}/${metric.name}"], wanted)
    ])
    error_message = "The dashboard must show backfill items scanned/written, retries and throttles, failures, replication events forwarded/applied/dropped, queue depth and age, the DLQ and stream failure queue, and the forwarder's iterator age: ${jsonencode([for metric in flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]]) : metric.namespace == "ddb-migrate" ? "ddb-migrate/${metric.lambda}/${metric.name}" : "${metric.namespace}/${metric.value}/${metric.name}"])}"
  }

  # AWS metrics are only found with their exact dimensions; the ddb-migrate ones carry only `service`.
  assert {
    condition = alltrue([
      for metric in flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]]) : contains({
        "ddb-migrate" = ["service"]
        "AWS/Lambda"  = ["FunctionName"]
        "AWS/SQS"     = ["QueueName"]
        "AWS/States"  = ["StateMachineArn"]
      }[metric.namespace], metric.dimension)
    ])
    error_message = "Every metric needs the one dimension its namespace is published with."
  }

  assert {
    condition = alltrue([
      for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : widget.properties.region == "us-east-1" && widget.x + widget.width <= 24 if widget.type == "metric"
    ])
    error_message = "Every metric widget names the deployment's region and fits the 24-column grid."
  }
}

run "backfill_only_dashboard" {
  command = plan

  variables {
    dashboard = { enabled = true }
  }

  assert {
    condition     = length(flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]])) > 0 && alltrue([for metric in flatten([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : [for metric in try(widget.properties.metrics, []) : { namespace = metric[0], name = metric[1], dimension = metric[2], value = metric[3], lambda = replace(trimprefix(metric[3], "demo-"), "-", "_") }]]) : metric.namespace == "AWS/States" || metric.value == "demo-backfill-worker"])
    error_message = "Without replication the dashboard shows only the backfill's metrics."
  }

  assert {
    condition     = !contains([for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : try(widget.properties.annotations, null) != null], true)
    error_message = "Without alarms no widget draws an alarm threshold."
  }
}

run "iterator_age_shows_the_alarm_threshold" {
  command = plan

  variables {
    alarms      = { enabled = true, iterator_age_threshold_seconds = 120 }
    replication = { enabled = true }
  }

  assert {
    condition = [
      for widget in jsondecode(module.dashboard[0].dashboard_body).widgets : widget.properties.annotations.horizontal[0].value
      if try(widget.properties.annotations, null) != null
    ] == [120000]
    error_message = "The iterator age widget draws the forwarder alarm's threshold, in milliseconds."
  }
}

run "dashboard_name_is_validated" {
  command = plan

  variables {
    dashboard = { enabled = true, name = "orders migration" }
  }

  expect_failures = [var.dashboard]
}

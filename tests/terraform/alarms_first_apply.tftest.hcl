# On a first apply the queues do not exist yet, so their ARNs are unknown at plan time. The set of alarms must
# still be known, or Terraform refuses the plan ("Invalid for_each argument"). Mocked values are generated at
# apply here, which leaves every computed attribute unknown while planning, as against AWS.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

variables {
  replication = { enabled = true }
  alarms      = { enabled = true }
}

run "the_alarms_are_planned_before_the_queues_exist" {
  command = plan

  assert {
    condition     = length(output.alarm_names) == 6 && output.alarm_names["replication-dlq-not-empty"] == "demo-replication-dlq-not-empty"
    error_message = "All six alarms must be planned while the queue ARNs are still unknown."
  }
}

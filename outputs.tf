output "state_machine_arn" {
  description = "ARN of the backfill state machine. Start a run with `ddb-migrate run` or StartExecution on it."
  value       = module.backfill.state_machine_arn
}

output "state_machine_name" {
  description = "Name of the backfill state machine."
  value       = module.backfill.state_machine_name
}

output "state_machine_role_arn" {
  description = "ARN of the backfill state machine's IAM role."
  value       = module.backfill.state_machine_role_arn
}

output "state_machine_log_group_name" {
  description = "CloudWatch log group of the backfill state machine."
  value       = module.backfill.state_machine_log_group_name
}

output "worker_function_name" {
  description = "Name of the backfill worker Lambda function."
  value       = module.backfill.worker_function_name
}

output "worker_function_arn" {
  description = "ARN of the backfill worker Lambda function."
  value       = module.backfill.worker_function_arn
}

output "worker_role_arn" {
  description = "ARN of the backfill worker's IAM role."
  value       = module.backfill.worker_role_arn
}

output "worker_log_group_name" {
  description = "CloudWatch log group of the backfill worker."
  value       = module.backfill.worker_log_group_name
}

output "state_table_name" {
  description = "Name of the run-state table (progress and checkpoints of every run)."
  value       = module.backfill.state_table_name
}

output "state_table_arn" {
  description = "ARN of the run-state table."
  value       = module.backfill.state_table_arn
}

output "source_table_name" {
  description = "Name of the source table."
  value       = module.backfill.source_table_name
}

output "target_table_name" {
  description = "Name of the target table."
  value       = module.backfill.target_table_name
}

output "target_table_arn" {
  description = "ARN of the target table (in target_account.account_id and in target_region when those are set)."
  value       = module.backfill.target_table_arn
}

output "cross_account" {
  description = "For a target in another account (variable target_account), what that account sets up: with role_arn, the role trusts role_trust_policy_json and holds role_policy_json; without it, the target table gets table_resource_policy_json as its resource-based policy (aws_dynamodb_resource_policy). principal_arns are the roles that call the target. null for a target in this account."
  value       = local.cross_account
}

output "in_place" {
  description = "Whether the migration rewrites the source table in place (source and target are the same table)."
  value       = module.backfill.in_place
}

output "powertools_layer_arn" {
  description = "Powertools layer version ARN attached to the Lambdas, or null when Powertools is bundled into the zips (powertools.source = \"bundle\")."
  value       = local.powertools_layer_arn
}

output "transform_steps_json" {
  description = "The transform steps as the Lambdas receive them in TRANSFORM_STEPS."
  value       = local.transform_steps_json
}

output "export_bucket_name" {
  description = "The bucket that backfills from a point-in-time export write into (the one the module created, or export.bucket_name), or null when export is off."
  value       = module.backfill.export_bucket_name
}

output "export_bucket_arn" {
  description = "ARN of the export bucket, or null when export is off."
  value       = module.backfill.export_bucket_arn
}

# Replication outputs (docs/ARCHITECTURE.md, "Root module outputs the CLI relies on"): null while
# replication.enabled is false.

output "replication_queue_url" {
  description = "URL of the FIFO replication queue, or null when replication is off."
  value       = one(module.replication[*].queue_url)
}

output "replication_queue_arn" {
  description = "ARN of the FIFO replication queue, or null when replication is off."
  value       = one(module.replication[*].queue_arn)
}

output "replication_dlq_url" {
  description = "URL of the replication queue's FIFO dead-letter queue (replay with `ddb-migrate replication redrive`), or null when replication is off."
  value       = one(module.replication[*].dlq_url)
}

output "replication_dlq_arn" {
  description = "ARN of the replication queue's FIFO dead-letter queue, or null when replication is off."
  value       = one(module.replication[*].dlq_arn)
}

output "stream_failure_queue_url" {
  description = "URL of the stream mapping's on-failure queue (stream ranges the forwarder never sent: alarm when it is not empty), or null when replication is off."
  value       = one(module.replication[*].stream_failure_queue_url)
}

output "stream_failure_queue_arn" {
  description = "ARN of the stream mapping's on-failure queue, or null when replication is off."
  value       = one(module.replication[*].stream_failure_queue_arn)
}

output "forwarder_event_source_mapping_uuid" {
  description = "UUID of the source stream -> forwarder event source mapping, or null when replication is off."
  value       = one(module.replication[*].forwarder_event_source_mapping_uuid)
}

output "consumer_event_source_mapping_uuid" {
  description = "UUID of the queue -> consumer event source mapping (`ddb-migrate replication pause|resume`), or null when replication is off."
  value       = one(module.replication[*].consumer_event_source_mapping_uuid)
}

output "forwarder_function_name" {
  description = "Name of the stream forwarder Lambda function, or null when replication is off."
  value       = one(module.replication[*].forwarder_function_name)
}

output "consumer_function_name" {
  description = "Name of the replication consumer Lambda function, or null when replication is off."
  value       = one(module.replication[*].consumer_function_name)
}

output "replication_cutoff_timestamp" {
  description = "The consumer's cutoff (events before it are dropped), or null when there is none or replication is off."
  value       = one(module.replication[*].cutoff_timestamp)
}

# Alarm outputs: null while alarms.enabled is false.

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms keyed by alarm (backfill-executions-failed, worker-errors, replication-dlq-not-empty, stream-failures-not-empty, forwarder-iterator-age, consumer-errors; the replication ones only with replication), or null when alarms are off."
  value       = one(module.alarms[*].alarm_arns)
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms (<name>-<key>), keyed like alarm_arns, or null when alarms are off."
  value       = one(module.alarms[*].alarm_names)
}

# Dashboard outputs: null while there is no dashboard (variable dashboard).

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, or null when there is none."
  value       = one(module.dashboard[*].dashboard_name)
}

output "dashboard_url" {
  description = "The CloudWatch dashboard in the AWS console (`ddb-migrate status` prints it), or null when there is none."
  value       = one(module.dashboard[*].dashboard_url)
}

# Named like the root module's outputs, so that `ddb-migrate ... --terraform-dir` finds what it operates on.

output "state_machine_arn" {
  description = "Backfill state machine: `ddb-migrate run --terraform-dir .` starts a run on it."
  value       = module.ddb_migrate.state_machine_arn
}

output "state_table_name" {
  description = "Progress and checkpoints of every run, and the last verify result that cutover-check reads."
  value       = module.ddb_migrate.state_table_name
}

output "source_table_name" {
  description = "Name of the source table."
  value       = module.ddb_migrate.source_table_name
}

output "target_table_name" {
  description = "Name of the target table."
  value       = module.ddb_migrate.target_table_name
}

output "worker_function_name" {
  description = "Name of the backfill worker Lambda."
  value       = module.ddb_migrate.worker_function_name
}

output "replication_queue_url" {
  description = "FIFO queue holding the changes not yet applied to the target."
  value       = module.ddb_migrate.replication_queue_url
}

output "replication_queue_arn" {
  description = "ARN of the FIFO replication queue."
  value       = module.ddb_migrate.replication_queue_arn
}

output "replication_dlq_url" {
  description = "Dead-letter queue of changes the consumer could not apply (`ddb-migrate replication redrive`)."
  value       = module.ddb_migrate.replication_dlq_url
}

output "replication_dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.ddb_migrate.replication_dlq_arn
}

output "stream_failure_queue_url" {
  description = "Stream ranges the forwarder never sent to the queue; must stay empty."
  value       = module.ddb_migrate.stream_failure_queue_url
}

output "forwarder_event_source_mapping_uuid" {
  description = "Source stream -> forwarder event source mapping."
  value       = module.ddb_migrate.forwarder_event_source_mapping_uuid
}

output "consumer_event_source_mapping_uuid" {
  description = "Queue -> consumer event source mapping (`ddb-migrate replication pause|resume`)."
  value       = module.ddb_migrate.consumer_event_source_mapping_uuid
}

output "forwarder_function_name" {
  description = "Name of the stream forwarder Lambda."
  value       = module.ddb_migrate.forwarder_function_name
}

output "consumer_function_name" {
  description = "Name of the replication consumer Lambda."
  value       = module.ddb_migrate.consumer_function_name
}

output "replication_cutoff_timestamp" {
  description = "The consumer's cutoff: changes made before it are dropped."
  value       = module.ddb_migrate.replication_cutoff_timestamp
}

output "state_machine_arn" {
  description = "Start a backfill run on this state machine."
  value       = module.ddb_migrate.state_machine_arn
}

output "state_table_name" {
  description = "Progress and checkpoints of every run."
  value       = module.ddb_migrate.state_table_name
}

output "worker_function_name" {
  description = "Name of the backfill worker Lambda."
  value       = module.ddb_migrate.worker_function_name
}

output "worker_log_group_name" {
  description = "Logs of the backfill worker."
  value       = module.ddb_migrate.worker_log_group_name
}

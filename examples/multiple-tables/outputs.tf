output "state_machine_arns" {
  description = "Backfill state machine of each migration, keyed like var.migrations."
  value       = { for key, migration in module.ddb_migrate : key => migration.state_machine_arn }
}

output "state_machine_names" {
  description = "State machine name of each migration, keyed like var.migrations (`ddb-migrate run --state-machine NAME`)."
  value       = { for key, migration in module.ddb_migrate : key => migration.state_machine_name }
}

output "state_table_names" {
  description = "Run-state table of each migration, keyed like var.migrations."
  value       = { for key, migration in module.ddb_migrate : key => migration.state_table_name }
}

output "worker_function_names" {
  description = "Backfill worker Lambda of each migration, keyed like var.migrations."
  value       = { for key, migration in module.ddb_migrate : key => migration.worker_function_name }
}

output "state_machine_arn" {
  description = "ARN of the backfill state machine. Start a run with `ddb-migrate backfill` or StartExecution on it."
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

output "in_place" {
  description = "Whether the migration rewrites the source table in place (source and target are the same table)."
  value       = module.backfill.in_place
}

output "powertools_layer_arn" {
  description = "Powertools layer version ARN attached to the Lambdas, or null when none is attached."
  value       = local.powertools_layer_arn == "" ? null : local.powertools_layer_arn
}

output "transform_steps_json" {
  description = "The transform steps as the Lambdas receive them in TRANSFORM_STEPS."
  value       = local.transform_steps_json
}

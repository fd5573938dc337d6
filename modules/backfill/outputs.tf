output "state_machine_arn" {
  description = "ARN of the backfill state machine; start a run with StartExecution on it."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the backfill state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_static_arn" {
  description = "The state machine's ARN as built from partition, region, account and name (known before apply)."
  value       = local.state_machine_arn
}

output "state_machine_definition" {
  description = "The rendered Amazon States Language definition."
  value       = local.state_machine_definition
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's IAM role."
  value       = aws_iam_role.state_machine.arn
}

output "state_machine_role_policies" {
  description = "Inline policies of the state machine's role, name to policy JSON."
  value       = local.state_machine_policies
}

output "state_machine_log_group_name" {
  description = "Name of the state machine's CloudWatch log group."
  value       = aws_cloudwatch_log_group.state_machine.name
}

output "worker_function_name" {
  description = "Name of the worker Lambda function."
  value       = module.worker.function_name
}

output "worker_function_arn" {
  description = "ARN of the worker Lambda function."
  value       = module.worker.function_arn
}

output "worker_reserved_concurrency" {
  description = "The worker's reserved concurrency; -1 when it is unreserved."
  value       = module.worker.reserved_concurrent_executions
}

output "worker_role_arn" {
  description = "ARN of the worker's IAM role."
  value       = module.worker.role_arn
}

output "worker_role_policies" {
  description = "Inline policies of the worker's role, name to policy JSON."
  value       = module.worker.role_policies
}

output "worker_log_group_name" {
  description = "Name of the worker's CloudWatch log group."
  value       = module.worker.log_group_name
}

output "worker_environment_variables" {
  description = "Environment variables of the worker."
  value       = module.worker.environment_variables
}

output "worker_package_path" {
  description = "Path of the worker's content-addressed zip."
  value       = module.worker.package_path
}

output "worker_bundled_wheels" {
  description = "The pinned wheels unpacked into the worker's zip (Powertools, when the root's powertools.source is bundle)."
  value       = var.lambda_settings.bundled_wheels
}

output "worker_source_hash" {
  description = "SHA-256 identity of the worker's packaged sources."
  value       = module.worker.source_hash
}

output "state_table_name" {
  description = "Name of the run-state table."
  value       = aws_dynamodb_table.state.name
}

output "state_table_arn" {
  description = "ARN of the run-state table."
  value       = aws_dynamodb_table.state.arn
}

output "source_table_name" {
  description = "Name of the source table."
  value       = var.source_table.name
}

output "source_table_arn" {
  description = "ARN of the source table."
  value       = var.source_table.arn
}

output "target_table_name" {
  description = "Name of the target table."
  value       = var.target_table.name
}

output "target_table_arn" {
  description = "ARN of the target table."
  value       = var.target_table.arn
}

output "target_table_actions" {
  description = "DynamoDB actions the worker calls on the target table: what the target's account must allow for a cross-account target."
  value       = local.target_actions
}

output "in_place" {
  description = "Whether source and target are the same table."
  value       = local.in_place
}

output "export_bucket_name" {
  description = "The bucket the worker exports into and reads the exports from, or null when export is off."
  value       = var.export.bucket_name
}

output "export_bucket_arn" {
  description = "ARN of the export bucket, or null when export is off."
  value       = var.export.bucket_arn
}

output "export_prefix" {
  description = "The S3 prefix of this deployment's exports (EXPORT_PREFIX), or null when export is off."
  value       = var.export.prefix
}

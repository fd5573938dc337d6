output "queue_url" {
  description = "URL of the FIFO replication queue (the change feed's buffer)."
  value       = aws_sqs_queue.replication.url
}

output "queue_arn" {
  description = "ARN of the FIFO replication queue."
  value       = aws_sqs_queue.replication.arn
}

output "queue_name" {
  description = "Name of the FIFO replication queue."
  value       = aws_sqs_queue.replication.name
}

output "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the replication queue (at least 6 x the consumer's timeout)."
  value       = local.queue_visibility_timeout
}

output "dlq_url" {
  description = "URL of the FIFO dead-letter queue; replay its messages with `ddb-migrate replication redrive`, never verbatim."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the FIFO dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the FIFO dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_redrive_allow_policy" {
  description = "The DLQ's redrive allow policy JSON: only the replication queue may use it as its dead-letter queue."
  value       = aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy
}

output "stream_failure_queue_url" {
  description = "URL of the standard queue that receives the stream mapping's on-failure records (stream ranges the forwarder could not send). Anything in it means the target misses changes: alarm on it."
  value       = aws_sqs_queue.stream_failures.url
}

output "stream_failure_queue_arn" {
  description = "ARN of the stream mapping's on-failure queue."
  value       = aws_sqs_queue.stream_failures.arn
}

output "stream_failure_queue_name" {
  description = "Name of the stream mapping's on-failure queue."
  value       = aws_sqs_queue.stream_failures.name
}

output "source_stream_arn" {
  description = "ARN of the source table's stream that the forwarder reads."
  value       = local.stream_arn
}

output "forwarder_event_source_mapping_uuid" {
  description = "UUID of the stream -> forwarder event source mapping."
  value       = aws_lambda_event_source_mapping.forwarder.uuid
}

output "consumer_event_source_mapping_uuid" {
  description = "UUID of the queue -> consumer event source mapping (`ddb-migrate replication pause|resume` flips its Enabled)."
  value       = aws_lambda_event_source_mapping.consumer.uuid
}

output "consumer_enabled" {
  description = "Whether Terraform leaves the consumer's mapping enabled (var.replication.consumer_enabled)."
  value       = var.replication.consumer_enabled
}

output "forwarder_function_name" {
  description = "Name of the stream forwarder Lambda function."
  value       = module.forwarder.function_name
}

output "forwarder_function_arn" {
  description = "ARN of the stream forwarder Lambda function."
  value       = module.forwarder.function_arn
}

output "forwarder_role_arn" {
  description = "ARN of the forwarder's IAM role."
  value       = module.forwarder.role_arn
}

output "forwarder_role_policies" {
  description = "Inline policies of the forwarder's role, name to policy JSON."
  value       = module.forwarder.role_policies
}

output "forwarder_environment_variables" {
  description = "Environment variables of the forwarder."
  value       = module.forwarder.environment_variables
}

output "forwarder_log_group_name" {
  description = "CloudWatch log group of the forwarder."
  value       = module.forwarder.log_group_name
}

output "forwarder_package_files" {
  description = "Files under lambda_src packaged into the forwarder's zip."
  value       = module.forwarder.package_files
}

output "consumer_function_name" {
  description = "Name of the replication consumer Lambda function."
  value       = module.consumer.function_name
}

output "consumer_function_arn" {
  description = "ARN of the replication consumer Lambda function."
  value       = module.consumer.function_arn
}

output "consumer_role_arn" {
  description = "ARN of the consumer's IAM role."
  value       = module.consumer.role_arn
}

output "consumer_role_policies" {
  description = "Inline policies of the consumer's role, name to policy JSON."
  value       = module.consumer.role_policies
}

output "consumer_environment_variables" {
  description = "Environment variables of the consumer."
  value       = module.consumer.environment_variables
}

output "consumer_log_group_name" {
  description = "CloudWatch log group of the consumer."
  value       = module.consumer.log_group_name
}

output "consumer_package_files" {
  description = "Files under lambda_src packaged into the consumer's zip."
  value       = module.consumer.package_files
}

output "cutoff_timestamp" {
  description = "The consumer's CUTOFF_TIMESTAMP: events older than this are dropped (null: none are)."
  value       = var.replication.cutoff_timestamp
}

output "forwarder_target_table_actions" {
  description = "DynamoDB actions the forwarder calls on the target table: what the target's account must allow for a cross-account target."
  value       = local.forwarder_target_actions
}

output "consumer_target_table_actions" {
  description = "DynamoDB actions the consumer calls on the target table: what the target's account must allow for a cross-account target."
  value       = local.consumer_target_actions
}

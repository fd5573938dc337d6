output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Name of the function's IAM role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}

output "role_policies" {
  description = "Every inline policy of the function's role, name to policy JSON (the caller's and this module's own)."
  value       = merge(var.policies, local.own_policies)
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "source_hash" {
  description = "SHA-256 of the packaged sources (file names and contents, custom transform, build script): the package's identity."
  value       = local.source_hash
}

output "package_path" {
  description = "Path of the content-addressed zip that apply builds."
  value       = local.zip_path
}

output "package_files" {
  description = "Files under source_dir that go into the zip (the custom transform, if any, is added as custom_transform.py)."
  value       = local.package_files
}

output "environment_variables" {
  description = "Environment variables set on the function."
  value       = local.environment
}

output "reserved_concurrent_executions" {
  description = "The function's reserved concurrency; -1 when it is unreserved."
  value       = aws_lambda_function.this.reserved_concurrent_executions
}

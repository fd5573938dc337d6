output "bucket_name" {
  description = "Name of the export bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the export bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_policy" {
  description = "The bucket policy, as JSON."
  value       = aws_s3_bucket_policy.this.policy
}

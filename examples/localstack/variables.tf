variable "endpoint" {
  description = "URL at which the provider reaches every AWS service: LocalStack's by default, or any other emulator's."
  type        = string
  default     = "http://localhost.localstack.cloud:4566"
}

variable "region" {
  description = "AWS region of the two tables."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "backfill-demo"
}

variable "source_table_name" {
  description = "Name of the existing table to copy from."
  type        = string
}

variable "target_table_name" {
  description = "Name of the existing table to copy to (the source table's name for an in-place migration)."
  type        = string
}

variable "total_segments" {
  description = "Default number of parallel Scan segments of a run."
  type        = number
  default     = 16
}

variable "max_concurrency" {
  description = "How many segments run at once (1-10,000); each holds one worker execution of the account's Lambda concurrency."
  type        = number
  default     = 50
}


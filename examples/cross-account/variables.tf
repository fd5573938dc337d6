variable "region" {
  description = "AWS region of both tables (the module reaches a target in another account, not in another region)."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "cross-account"
}

variable "source_table_name" {
  description = "Name of the existing table to copy from, in the account of the default provider."
  type        = string
}

variable "target_table_name" {
  description = "Name of the existing table to copy to, in the target account (it may have the source's name)."
  type        = string
}

variable "target_account_admin_role_arn" {
  description = "Role in the target account that Terraform assumes to create the access role or the table policy there."
  type        = string
}

variable "access" {
  description = "How the migration reaches the target: \"assume-role\" (a role in the target account) or \"resource-policy\" (the target table's resource-based policy)."
  type        = string
  default     = "assume-role"

  validation {
    condition     = contains(["assume-role", "resource-policy"], var.access)
    error_message = "access must be \"assume-role\" or \"resource-policy\"."
  }
}

variable "external_id" {
  description = "External ID the Lambdas present when they assume the target role (assume-role access only); null for none."
  type        = string
  default     = null
}

variable "replicate" {
  description = "Also deploy live replication (its consumer starts paused); the source table needs a NEW_AND_OLD_IMAGES stream."
  type        = bool
  default     = true
}

variable "cutoff_timestamp" {
  description = "Replication drops changes older than this RFC 3339 instant (the time the backfill's snapshot starts); null keeps every change."
  type        = string
  default     = null
}


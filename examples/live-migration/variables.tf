variable "region" {
  description = "AWS region of the two tables."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "live-migration"
}

variable "source_table_name" {
  description = "Name of the existing table to migrate from. Its stream must be enabled with view type NEW_AND_OLD_IMAGES."
  type        = string
}

variable "target_table_name" {
  description = "Name of the existing table to migrate to (another table than the source)."
  type        = string
}

variable "cutoff_timestamp" {
  description = <<-EOT
    RFC 3339 time with timezone (2026-11-21T10:00:00Z). Changes made before it are dropped by the consumer
    because the target already holds them: with a backfill, a time before the backfill starts (the time of the
    first apply); with a target restored from a backup, the backup time minus 60 seconds. Earlier is always
    safe. Set it once and keep it: a later cutoff drops changes that are still queued.
  EOT
  type        = string
}

variable "consumer_enabled" {
  description = "Whether the consumer applies the queued changes. false until the backfill is done; set it to true once `ddb-migrate replication resume` has started it."
  type        = bool
  default     = false
}

variable "total_segments" {
  description = "Default number of parallel Scan segments of a backfill run."
  type        = number
  default     = 16
}


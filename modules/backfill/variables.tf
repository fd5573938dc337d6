# Internal module: the root module calls it with its own variables, which hold every default and validation.
# Types only here; see the root module's variables of the same names for what each setting means.

variable "name" {
  description = "Prefix of every resource name of this module (the root module's name)."
  type        = string
}

variable "source_table" {
  description = "The source table as the root module read it (main.tf): name, arn, stream_arn, hash_key, range_key, kms_key_arn (customer managed key or null) and same_as_target (an in-place migration)."
  type        = any
}

variable "target_table" {
  description = "The target table as the root module resolved it (main.tf): name, arn, in_other_account, region, in_other_region, role_arn, kms_key_arn, lambda_environment and assume_role_statement."
  type        = any
}

variable "total_segments" {
  description = "Default number of parallel Scan segments of a run (the root module's variable)."
  type        = number
}

variable "max_concurrency" {
  description = "How many segment children each Distributed Map runs at once (the root module's variable)."
  type        = number
}

variable "tolerated_failure_percentage" {
  description = "Percentage of failed segment children a Distributed Map tolerates before it fails (the root module's variable)."
  type        = number
}

variable "worker" {
  description = "Settings of the worker Lambda: the root module's variable of the same name."
  type = object({
    memory_size                = number
    timeout                    = number
    write_concurrency          = number
    max_write_attempts         = number
    backoff_base_ms            = number
    backoff_cap_ms             = number
    time_safety_margin_seconds = number
    scan_page_limit            = number
    reserved_concurrency       = number
    invocations_per_child      = number
  })
}

variable "allow_target_cleanup" {
  description = "Grant the worker dynamodb:Scan on the target table, which a run with cleanup_destination_table needs (the root module's variable)."
  type        = bool
}

variable "prewarm" {
  description = "Capacity pre-warm and reset around each run: the root module's variable of the same name."
  type = object({
    enabled                   = bool
    by_default                = bool
    read_capacity_units       = number
    write_capacity_units      = number
    warm_throughput_on_demand = bool
  })
}

variable "capacity_budget" {
  description = "Default capacity budget of a run (max_read_rate, max_write_rate; null: none): the root module's variable."
  type = object({
    max_read_rate  = string
    max_write_rate = string
  })
}

variable "export" {
  description = "Backfill from a point-in-time export, as the root module resolves its variable export (main.tf): enabled, by_default, bucket_name and bucket_arn (the created bucket or the user's), bucket_owner (account ID, null = this account), prefix (<export.prefix>/<name>), kms_key_arn (the key of the bucket's objects, or null) and poll_seconds. The bucket fields are null while enabled is false."
  type = object({
    enabled      = bool
    by_default   = bool
    bucket_name  = string
    bucket_arn   = string
    bucket_owner = string
    prefix       = string
    kms_key_arn  = string
    poll_seconds = number
  })
}

variable "transform" {
  description = "The transform as the root module builds it: steps_json (TRANSFORM_STEPS, the JSON list of declarative steps) and custom_file (packaged as custom_transform.py, or null)."
  type        = any
}

variable "lambda_settings" {
  description = "Settings every Lambda of ddb-migrate shares (the root module's lambda_settings local: layers, bundled_wheels, lambda_runtime, architecture, python_executable, log_retention_days, kms_key_arn, tracing_enabled). Besides the worker, log_retention_days and kms_key_arn also apply to the state machine's log group (kms_key_arn to the state table too), and tracing_enabled to the state machine."
  type        = any
}

variable "state_machine_log_level" {
  description = "Step Functions log level: ALL, ERROR, FATAL or OFF. Not a root setting: the root module keeps ERROR."
  type        = string

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
}

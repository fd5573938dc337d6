variable "name" {
  description = "Prefix of every resource name of this module."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,31}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must start with a letter, be at most 32 characters of letters, digits and hyphens, and not end with a hyphen."
  }
}

variable "source_table_name" {
  description = "Name of the existing DynamoDB table to copy from."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.source_table_name))
    error_message = "source_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "target_table_name" {
  description = "Name of the existing DynamoDB table to write to. Equal to source_table_name for an in-place migration."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.target_table_name))
    error_message = "target_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "target_account" {
  description = "The target table's account when it is not this one (the root module's target_account, validated there): role_arn to assume for calls on the target, or null to call the table by its ARN through its resource-based policy."
  type = object({
    account_id  = string
    role_arn    = optional(string)
    external_id = optional(string)
    kms_key_arn = optional(string)
  })
  default = null
}

variable "total_segments" {
  description = "Default number of parallel Scan segments of a run (an execution may override it)."
  type        = number
  default     = 16

  validation {
    condition     = var.total_segments >= 1 && var.total_segments <= 10000 && floor(var.total_segments) == var.total_segments
    error_message = "total_segments must be a whole number from 1 to 10,000."
  }
}

variable "max_concurrency" {
  description = "How many segment children each Distributed Map runs at once (the root module's variable, validated there)."
  type        = number
  default     = 50
}

variable "tolerated_failure_percentage" {
  description = "Percentage of failed segment children a Distributed Map tolerates before it fails."
  type        = number
  default     = 0

  validation {
    condition     = var.tolerated_failure_percentage >= 0 && var.tolerated_failure_percentage <= 100
    error_message = "tolerated_failure_percentage must be from 0 to 100."
  }
}

variable "worker" {
  description = "Settings of the worker Lambda. See the root module's variable of the same name."
  type = object({
    memory_size                = optional(number, 1024)
    timeout                    = optional(number, 900)
    write_concurrency          = optional(number, 8)
    max_write_attempts         = optional(number, 10)
    backoff_base_ms            = optional(number, 50)
    backoff_cap_ms             = optional(number, 20000)
    time_safety_margin_seconds = optional(number, 60)
    scan_page_limit            = optional(number)
    reserved_concurrency       = optional(number)
    invocations_per_child      = optional(number, 250)
  })
  default  = {}
  nullable = false
}

variable "transform_steps_json" {
  description = "TRANSFORM_STEPS for the worker: a JSON list of declarative transform steps (the root module builds and validates it)."
  type        = string
  default     = "[]"

  validation {
    condition     = can(jsondecode(var.transform_steps_json)) && startswith(trimspace(var.transform_steps_json), "[")
    error_message = "transform_steps_json must be a JSON list."
  }
}

variable "custom_transform_file" {
  description = "Optional Python file packaged as custom_transform.py and imported through TRANSFORM_MODULE."
  type        = string
  default     = null
}

variable "allow_target_cleanup" {
  description = "Grant the worker dynamodb:Scan on the target table, which a run with cleanup_destination_table needs to find the items to delete."
  type        = bool
  default     = false
}

variable "prewarm" {
  description = "Capacity pre-warm and reset around each run. See the root module's variable of the same name."
  type = object({
    enabled                   = optional(bool, false)
    by_default                = optional(bool, true)
    read_capacity_units       = optional(number, 12000)
    write_capacity_units      = optional(number, 4000)
    warm_throughput_on_demand = optional(bool, false)
  })
  default  = {}
  nullable = false
}

variable "lambda_settings" {
  description = "Settings every Lambda of ddb-migrate shares: the root module's variables of the same names (layers is the resolved Powertools layer list, bundled_wheels the pinned wheels packed into each zip instead), validated there, so they are not checked again here. Besides the worker, log_retention_days and kms_key_arn also apply to the state machine's log group (kms_key_arn to the state table too), and tracing_enabled to the state machine."
  type = object({
    layers             = optional(list(string), [])
    bundled_wheels     = optional(list(string), [])
    lambda_runtime     = optional(string, "python3.12")
    architecture       = optional(string, "x86_64")
    python_executable  = optional(string, "python3")
    log_retention_days = optional(number, 30)
    kms_key_arn        = optional(string)
    tracing_enabled    = optional(bool, false)
  })
  default  = {}
  nullable = false
}

variable "state_machine_log_level" {
  description = "Step Functions log level: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

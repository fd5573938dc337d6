variable "function_name" {
  description = "Name of the Lambda function; also names its IAM role and its log group (/aws/lambda/<name>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of letters, digits, hyphens and underscores (Lambda's and IAM's shared limit)."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = ""
}

variable "handler" {
  description = "Handler in module.function form, for example backfill_worker.handler.lambda_handler."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must be a dotted Python path such as package.module.function."
  }
}

variable "source_dir" {
  description = "Directory that holds the package directories (the repository's lambda_src). Relative paths are relative to the directory Terraform runs in."
  type        = string
}

variable "package_dirs" {
  description = "Package directories under source_dir to put at the zip root, for example [\"migration_core\", \"backfill_worker\"]."
  type        = list(string)

  validation {
    condition     = length(var.package_dirs) > 0 && alltrue([for d in var.package_dirs : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", d))])
    error_message = "package_dirs must list at least one directory, each a plain Python package name (no slashes)."
  }
}

variable "custom_transform_file" {
  description = "Python file copied into the zip root as custom_transform.py, or null (the root module's transform.custom_file, validated there). Relative paths are relative to the directory Terraform runs in."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB; Lambda allocates CPU in proportion (the root module's worker, replication.forwarder or replication.consumer setting, validated there)."
  type        = number
}

variable "timeout" {
  description = "Function timeout in seconds (validated by the root module, like memory_size)."
  type        = number
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; -1 leaves the function unreserved (the root module's worker.reserved_concurrency, validated there)."
  type        = number
  default     = -1
}

variable "lambda_settings" {
  description = <<-EOT
    Settings every Lambda of ddb-migrate shares, built and validated by the root module (its lambda_settings
    local): layers (Lambda layer version ARNs, at most 5), bundled_wheels (pure-Python wheel files unpacked into
    the zip root, as pip would install them), lambda_runtime, architecture, python_executable (the interpreter
    that runs the standard-library-only package.py), log_retention_days and kms_key_arn (the log group's
    retention and key; the key policy must allow the CloudWatch Logs service principal of the region) and
    tracing_enabled (active AWS X-Ray tracing).
  EOT
  type        = any
}

variable "environment_variables" {
  description = "Environment variables of the function. Lambda caps their total size at 4 KB."
  type        = map(string)
  default     = {}
}

variable "policies" {
  description = "Inline policies of the function's role: map of policy name to policy JSON (build it with jsonencode()). The names logs and xray are reserved for the policies this module writes."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.policies), ["logs", "xray"])) == 0
    error_message = "The policy names logs and xray are reserved for the policies this module writes itself."
  }
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

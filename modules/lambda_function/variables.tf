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
  description = "Optional Python file copied into the zip root as custom_transform.py. Relative paths are relative to the directory Terraform runs in."
  type        = string
  default     = null

  validation {
    condition     = var.custom_transform_file == null || try(endswith(var.custom_transform_file, ".py") && fileexists(var.custom_transform_file), false)
    error_message = "custom_transform_file must be the path of an existing .py file."
  }
}

variable "bundled_wheels" {
  description = "Pure-Python wheel files unpacked into the zip root, as pip would install them (the pinned dependencies the functions ship with)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for wheel in var.bundled_wheels : endswith(wheel, "-none-any.whl") && fileexists(wheel)])
    error_message = "bundled_wheels must be existing pure-Python wheel files (names ending in -none-any.whl)."
  }
}

variable "python_executable" {
  description = "Python 3 interpreter that runs the standard-library-only build script (package.py) on the machine running Terraform."
  type        = string
  default     = "python3"

  validation {
    condition     = length(trimspace(var.python_executable)) > 0
    error_message = "python_executable must not be empty."
  }
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "runtime must be a Python 3 Lambda runtime such as python3.12: the package is Python source."
  }
}

variable "architecture" {
  description = "Instruction set architecture of the function: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB; Lambda allocates CPU in proportion."
  type        = number
  default     = 128

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 3

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900 (Lambda's maximum)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; -1 leaves the function unreserved."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be -1 (unreserved) or a whole number >= 0."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function. Lambda caps their total size at 4 KB."
  type        = map(string)
  default     = {}
}

variable "layers" {
  description = "Lambda layer version ARNs, at most 5."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) <= 5
    error_message = "A Lambda function can use at most 5 layers."
  }
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

variable "log_retention_days" {
  description = "Retention of the function's log group in days (0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_key_arn" {
  description = "Optional KMS key ARN that encrypts the log group. The key policy must allow the CloudWatch Logs service principal of the region."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases are not accepted by CloudWatch Logs."
  }
}

variable "tracing_enabled" {
  description = "Turn on active AWS X-Ray tracing."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

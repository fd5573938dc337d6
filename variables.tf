variable "name" {
  description = "Prefix of every resource name, for example orders-v2 (gives orders-v2-backfill, orders-v2-state, ...)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,31}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must start with a letter, be at most 32 characters of letters, digits and hyphens, and not end with a hyphen (derived names must fit the 64-character Lambda and IAM limits)."
  }
}

variable "source_table_name" {
  description = "Name of the existing DynamoDB table to migrate from (in this account and region)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.source_table_name))
    error_message = "source_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "target_table_name" {
  description = "Name of the existing DynamoDB table to migrate to. Use the source table's name for an in-place migration."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.target_table_name))
    error_message = "target_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "total_segments" {
  description = "Default number of parallel Scan segments of a backfill run; an execution input may override it. Each segment is one child workflow of the Distributed Map."
  type        = number
  default     = 16

  validation {
    condition     = var.total_segments >= 1 && var.total_segments <= 10000 && floor(var.total_segments) == var.total_segments
    error_message = "total_segments must be a whole number from 1 to 10,000: every segment is one Distributed Map child, a Map Run runs at most 10,000 children at once, and the segment list must fit the 256 KiB state payload."
  }
}

variable "max_concurrency" {
  description = "How many segments run at once (Distributed Map MaxConcurrency). 0 lets Step Functions run as many as it can, up to 10,000."
  type        = number
  default     = 0

  validation {
    condition     = var.max_concurrency >= 0 && var.max_concurrency <= 10000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 0 (no limit) to 10,000 (the Distributed Map maximum)."
  }
}

variable "tolerated_failure_percentage" {
  description = "Percentage of segments that may fail before the run fails (Distributed Map ToleratedFailurePercentage). The default 0 fails the run on the first failed segment."
  type        = number
  default     = 0

  validation {
    condition     = var.tolerated_failure_percentage >= 0 && var.tolerated_failure_percentage <= 100
    error_message = "tolerated_failure_percentage must be from 0 to 100."
  }
}

variable "worker" {
  description = <<-EOT
    Settings of the backfill worker Lambda:
    memory_size (MB, 128-10240; CPU scales with it), timeout (seconds, 10-900),
    write_concurrency (BatchWriteItem calls in flight per invocation, 1-64),
    max_write_attempts (attempts per 25-item chunk before the segment fails, 1-100),
    backoff_base_ms and backoff_cap_ms (full-jitter exponential backoff between attempts),
    time_safety_margin_seconds (the worker stops at a page boundary this long before its timeout),
    scan_page_limit (items per Scan page, 1-10000; null = DynamoDB's 1 MB pages; smaller pages checkpoint
    more often).
  EOT
  type = object({
    memory_size                = optional(number, 1024)
    timeout                    = optional(number, 900)
    write_concurrency          = optional(number, 8)
    max_write_attempts         = optional(number, 10)
    backoff_base_ms            = optional(number, 50)
    backoff_cap_ms             = optional(number, 20000)
    time_safety_margin_seconds = optional(number, 60)
    scan_page_limit            = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.worker.memory_size >= 128 && var.worker.memory_size <= 10240 && floor(var.worker.memory_size) == var.worker.memory_size
    error_message = "worker.memory_size must be a whole number of MB from 128 to 10240."
  }

  validation {
    condition     = var.worker.timeout >= 10 && var.worker.timeout <= 900 && floor(var.worker.timeout) == var.worker.timeout
    error_message = "worker.timeout must be a whole number of seconds from 10 to 900 (Lambda's maximum)."
  }

  validation {
    condition     = var.worker.write_concurrency >= 1 && var.worker.write_concurrency <= 64 && floor(var.worker.write_concurrency) == var.worker.write_concurrency
    error_message = "worker.write_concurrency must be a whole number from 1 to 64."
  }

  validation {
    condition     = var.worker.max_write_attempts >= 1 && var.worker.max_write_attempts <= 100 && floor(var.worker.max_write_attempts) == var.worker.max_write_attempts
    error_message = "worker.max_write_attempts must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.worker.backoff_base_ms >= 1 && var.worker.backoff_base_ms <= 10000 && floor(var.worker.backoff_base_ms) == var.worker.backoff_base_ms
    error_message = "worker.backoff_base_ms must be a whole number of milliseconds from 1 to 10000."
  }

  validation {
    condition     = var.worker.backoff_cap_ms >= var.worker.backoff_base_ms && var.worker.backoff_cap_ms <= 300000 && floor(var.worker.backoff_cap_ms) == var.worker.backoff_cap_ms
    error_message = "worker.backoff_cap_ms must be a whole number of milliseconds, at least worker.backoff_base_ms and at most 300000."
  }

  validation {
    condition     = var.worker.time_safety_margin_seconds >= 1 && var.worker.time_safety_margin_seconds < var.worker.timeout && floor(var.worker.time_safety_margin_seconds) == var.worker.time_safety_margin_seconds
    error_message = "worker.time_safety_margin_seconds must be a whole number of seconds, at least 1 and less than worker.timeout."
  }

  validation {
    condition     = var.worker.scan_page_limit == null || try(var.worker.scan_page_limit >= 1 && var.worker.scan_page_limit <= 10000 && floor(var.worker.scan_page_limit) == var.worker.scan_page_limit, false)
    error_message = "worker.scan_page_limit must be null (1 MB pages) or a whole number of items from 1 to 10,000."
  }
}

variable "transform" {
  description = <<-EOT
    How each item is transformed on its way to the target.
    steps run in order; each has op and attribute, plus:
      set       value    - one AttributeValue as JSON, for example jsonencode({ S = "migrated" }) (B values in base64)
      rename    to       - the new attribute name
      remove             - nothing else
      timestamp format   - iso8601 (default), epoch_seconds or epoch_millis
      derive    template - a new S attribute from other attributes, for example "{tenant}#{id}"
    custom_file is an optional Python file defining transform(item), called after the steps; it is
    packaged as custom_transform.py. Relative paths are relative to the directory Terraform runs in.
  EOT
  type = object({
    steps = optional(list(object({
      op        = string
      attribute = string
      value     = optional(string)
      to        = optional(string)
      template  = optional(string)
      format    = optional(string)
    })), [])
    custom_file = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for s in var.transform.steps : contains(["set", "rename", "remove", "timestamp", "derive"], s.op)])
    error_message = "Every transform step's op must be one of set, rename, remove, timestamp or derive."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : length(s.attribute) > 0])
    error_message = "Every transform step needs a non-empty attribute."
  }

  validation {
    condition = alltrue([
      for s in var.transform.steps : s.op != "set" || try(
        length(keys(jsondecode(s.value))) == 1 &&
        contains(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"], keys(jsondecode(s.value))[0]) &&
        can(tonumber(lookup(jsondecode(s.value), "N", "0"))) &&
        lookup(jsondecode(s.value), "NULL", true) == true,
        false
      )
    ])
    error_message = "A set step's value must be one DynamoDB AttributeValue as JSON with exactly one type key (S, N, B, BOOL, NULL, M, L, SS, NS or BS), for example jsonencode({ S = \"migrated\" }) or jsonencode({ N = \"42\" })."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : s.op != "rename" || try(length(s.to) > 0 && s.to != s.attribute, false)])
    error_message = "A rename step needs `to`: a non-empty attribute name different from `attribute`."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : s.op != "derive" || try(length(s.template) > 0, false)])
    error_message = "A derive step needs a non-empty template, for example \"{tenant}#{id}\"."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : s.op != "timestamp" || s.format == null || contains(["iso8601", "epoch_seconds", "epoch_millis"], coalesce(s.format, "iso8601"))])
    error_message = "A timestamp step's format must be iso8601, epoch_seconds or epoch_millis."
  }

  validation {
    condition = alltrue([
      for s in var.transform.steps : alltrue([
        s.value == null || s.op == "set",
        s.to == null || s.op == "rename",
        s.template == null || s.op == "derive",
        s.format == null || s.op == "timestamp",
      ])
    ])
    error_message = "A transform step may only set the fields of its op: value for set, to for rename, template for derive, format for timestamp."
  }

  validation {
    # Lambda caps all environment variables of a function at 4 KB together; the steps travel in one of
    # them, next to the table names and settings. length(base64) * 3 / 4 bounds the UTF-8 byte count.
    condition = try(length(base64encode(jsonencode([
      for s in var.transform.steps : merge(
        { op = s.op, attribute = s.attribute },
        s.op == "set" ? { value = jsondecode(s.value) } : {},
        s.op == "rename" ? { to = s.to } : {},
        s.op == "derive" ? { template = s.template } : {},
        s.op == "timestamp" ? { format = coalesce(s.format, "iso8601") } : {},
      )
    ]))) * 3 / 4 <= 3072, true)
    error_message = "The transform steps are too large: as JSON they must fit in 3 KB, because Lambda limits a function's environment variables to 4 KB in total. Move the logic into transform.custom_file."
  }

  validation {
    condition     = var.transform.custom_file == null || try(endswith(var.transform.custom_file, ".py") && fileexists(var.transform.custom_file), false)
    error_message = "transform.custom_file must be the path of an existing .py file (relative to the directory Terraform runs in)."
  }
}

variable "allow_target_cleanup" {
  description = "Allow runs with cleanup_destination_table, which delete every item of the target before copying: grants the worker dynamodb:Scan on the target table. Without it the plan step refuses such a run with InvalidInput."
  type        = bool
  default     = false
}

variable "powertools_layer_arn" {
  description = "Powertools for AWS Lambda (Python) v3 layer version ARN for the Lambdas. null picks the public layer of the region, runtime and architecture in the commercial partition (version 27; other partitions publish it from other accounts, pass it explicitly there); \"\" attaches no layer (for emulators, or when Powertools comes another way)."
  type        = string
  default     = null

  validation {
    condition     = var.powertools_layer_arn == null || var.powertools_layer_arn == "" || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.powertools_layer_arn))
    error_message = "powertools_layer_arn must be null, \"\" or a Lambda layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>)."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the Lambdas."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Lambda Python runtime from python3.11 on, such as python3.12."
  }
}

variable "architecture" {
  description = "Instruction set architecture of the Lambdas: x86_64 or arm64 (arm64 costs less per GB-second)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "python_executable" {
  description = "Python 3 interpreter that builds the Lambda zips (with the standard library only) on the machine running Terraform."
  type        = string
  default     = "python3"

  validation {
    condition     = length(trimspace(var.python_executable)) > 0
    error_message = "python_executable must not be empty."
  }
}

variable "log_retention_days" {
  description = "Retention in days of every log group of the module (0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_key_arn" {
  description = "Optional customer managed KMS key ARN that encrypts the state table and the log groups. Its key policy must allow CloudWatch Logs (logs.<region>.amazonaws.com). null uses AWS managed encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases are not accepted by CloudWatch Logs."
  }
}

variable "tracing_enabled" {
  description = "Turn on AWS X-Ray tracing for the state machine and the Lambdas."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "AWS region of the tables."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name; each migration is named <name_prefix>-<key>."
  type        = string
  default     = "migrate"
}

variable "migrations" {
  description = "The table pairs, keyed by a short name (letters, digits and hyphens) that becomes part of every resource name of that pair. total_segments is the pair's default number of parallel Scan segments."
  type = map(object({
    source_table_name = string
    target_table_name = string
    total_segments    = optional(number, 16)
  }))

  validation {
    condition     = length(var.migrations) > 0
    error_message = "migrations needs at least one source -> target pair."
  }

  validation {
    condition     = alltrue([for key in keys(var.migrations) : can(regex("^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", key))])
    error_message = "Each key of migrations must be letters and digits, optionally joined by single hyphens: it becomes part of resource names."
  }
}


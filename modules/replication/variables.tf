variable "name" {
  description = "Prefix of every resource name of this module (gives <name>-stream-forwarder, <name>-replication.fifo, ...)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,31}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must start with a letter, be at most 32 characters of letters, digits and hyphens, and not end with a hyphen."
  }
}

variable "source_table_name" {
  description = "Name of the existing DynamoDB table whose changes are replicated. Its stream must be enabled with view type NEW_AND_OLD_IMAGES."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.source_table_name))
    error_message = "source_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "target_table_name" {
  description = "Name of the existing DynamoDB table the changes are applied to. Must differ from source_table_name: replicating a table into itself would feed its own writes back through the stream."
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

variable "transform_steps_json" {
  description = "TRANSFORM_STEPS of both Lambdas: the JSON list of declarative transform steps (the root module builds and validates it; it is the backfill's)."
  type        = string
  default     = "[]"

  validation {
    condition     = can(jsondecode(var.transform_steps_json)) && startswith(trimspace(var.transform_steps_json), "[")
    error_message = "transform_steps_json must be a JSON list."
  }
}

variable "custom_transform_file" {
  description = "Optional Python file packaged into both Lambdas as custom_transform.py and imported through TRANSFORM_MODULE. The forwarder needs it too: for a record too large for one message it derives the old target keys itself."
  type        = string
  default     = null

  validation {
    condition     = var.custom_transform_file == null || try(endswith(var.custom_transform_file, ".py") && fileexists(var.custom_transform_file), false)
    error_message = "custom_transform_file must be the path of an existing .py file."
  }
}

variable "cutoff_timestamp" {
  description = "Events whose stream record is older than this instant are dropped by the consumer (the target already holds their effect, from a backup restore or an export). RFC 3339 with a timezone, for example 2025-01-31T11:59:00Z; null applies every event. For a restored backup, use the backup time minus 60 seconds: on-demand backups are fuzzy by up to a minute, and an earlier cutoff is always safe (replayed events re-apply full images in order) while a later one loses writes."
  type        = string
  default     = null

  validation {
    condition     = var.cutoff_timestamp == null || try(can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$", var.cutoff_timestamp)) && can(timeadd(var.cutoff_timestamp, "0s")), false)
    error_message = "cutoff_timestamp must be an RFC 3339 timestamp with a timezone, such as 2025-01-31T11:59:00Z or 2025-01-31T12:59:00.500+01:00 (upper-case T and Z, a real calendar date and time), or null."
  }
}

variable "consumer_enabled" {
  description = "Whether the consumer's event source mapping takes messages from the FIFO queue. false buffers every change in the queue (for as long as queue_message_retention_seconds) while a backfill runs; the forwarder keeps running either way. Terraform is authoritative: `ddb-migrate replication pause|resume` flips the mapping at run time, and the next apply sets it back to this value, so update the variable after using the CLI."
  type        = bool
  default     = true
  nullable    = false
}

# ---------------------------------------------------------------------------------------------------------------
# Stream -> forwarder event source mapping
# ---------------------------------------------------------------------------------------------------------------

variable "stream_batch_size" {
  description = "Most stream records per forwarder invocation (DynamoDB Streams event source mapping BatchSize)."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 10000 && floor(var.stream_batch_size) == var.stream_batch_size
    error_message = "stream_batch_size must be a whole number from 1 to 10,000 (the DynamoDB Streams event source mapping limit)."
  }
}

variable "stream_parallelization_factor" {
  description = "Concurrent forwarder batches per stream shard (ParallelizationFactor). Lambda keeps the records of one item (same partition and sort key) in order at any factor, so raising it is safe for correctness; it only costs more concurrent invocations."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.stream_parallelization_factor >= 1 && var.stream_parallelization_factor <= 10 && floor(var.stream_parallelization_factor) == var.stream_parallelization_factor
    error_message = "stream_parallelization_factor must be a whole number from 1 to 10."
  }
}

variable "stream_maximum_batching_window_in_seconds" {
  description = "How long the stream mapping may gather records before it invokes the forwarder (MaximumBatchingWindowInSeconds). 0 invokes as soon as records arrive: the lowest replication lag."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.stream_maximum_batching_window_in_seconds >= 0 && var.stream_maximum_batching_window_in_seconds <= 300 && floor(var.stream_maximum_batching_window_in_seconds) == var.stream_maximum_batching_window_in_seconds
    error_message = "stream_maximum_batching_window_in_seconds must be a whole number of seconds from 0 to 300."
  }
}

variable "stream_bisect_batch_on_function_error" {
  description = "Split a failing batch in two and retry the halves (BisectBatchOnFunctionError). Off by default: the forwarder reports the first record it could not send (ReportBatchItemFailures) and Lambda retries from exactly there, so bisecting finds nothing new and only multiplies invocations."
  type        = bool
  default     = false
  nullable    = false
}

variable "stream_maximum_retry_attempts" {
  description = "Retries of a failing stream batch before its records are discarded to the stream failure queue (MaximumRetryAttempts). -1 (the default) retries until the record leaves the stream: the forwarder must never skip a record, because a record that never reaches the queue is a write the target never sees. A finite value trades that for progress; discarded ranges then need a re-sync."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.stream_maximum_retry_attempts >= -1 && var.stream_maximum_retry_attempts <= 10000 && floor(var.stream_maximum_retry_attempts) == var.stream_maximum_retry_attempts
    error_message = "stream_maximum_retry_attempts must be -1 (retry until the record expires) or a whole number from 0 to 10,000."
  }
}

variable "stream_maximum_record_age_in_seconds" {
  description = "Age after which a stream record is discarded to the stream failure queue instead of retried (MaximumRecordAgeInSeconds). -1 (the default) keeps it until the stream's 24-hour retention ends. Any other value lets the mapping skip records that are merely late, which the target would never see."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.stream_maximum_record_age_in_seconds == -1 || (var.stream_maximum_record_age_in_seconds >= 60 && var.stream_maximum_record_age_in_seconds <= 604800 && floor(var.stream_maximum_record_age_in_seconds) == var.stream_maximum_record_age_in_seconds)
    error_message = "stream_maximum_record_age_in_seconds must be -1 (until the record expires) or a whole number of seconds from 60 to 604,800."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Queues
# ---------------------------------------------------------------------------------------------------------------

variable "queue_message_retention_seconds" {
  description = "How long the FIFO queue keeps a message (MessageRetentionPeriod): the longest the consumer may stay paused without losing changes. Defaults to the SQS maximum, 14 days, which extends the stream's 24 hours."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = var.queue_message_retention_seconds >= 60 && var.queue_message_retention_seconds <= 1209600 && floor(var.queue_message_retention_seconds) == var.queue_message_retention_seconds
    error_message = "queue_message_retention_seconds must be a whole number of seconds from 60 to 1,209,600 (14 days, the SQS maximum)."
  }
}

variable "high_throughput_fifo" {
  description = "High-throughput FIFO mode: deduplication and the throughput limit per message group (DeduplicationScope messageGroup, FifoThroughputLimit perMessageGroupId) instead of per queue (300 API calls per second per action). Every item is its own message group, so per-group limits are what replication needs."
  type        = bool
  default     = true
  nullable    = false
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the FIFO dead-letter queue (the redrive policy's maxReceiveCount). Its message group stays blocked behind it until then."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1,000."
  }
}

variable "max_message_bytes" {
  description = "Largest message the FIFO queue accepts (MaximumMessageSize), also the forwarder's MAX_MESSAGE_BYTES: a larger stream record is sent without its images and re-read from the source by the consumer."
  type        = number
  default     = 262144
  nullable    = false

  validation {
    condition     = var.max_message_bytes >= 16384 && var.max_message_bytes <= 262144 && floor(var.max_message_bytes) == var.max_message_bytes
    error_message = "max_message_bytes must be a whole number from 16,384 (the smallest that fits any key and the envelope) to 262,144 (the largest the hashicorp/aws provider accepts for MaximumMessageSize)."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the FIFO queue. null sets 6 x consumer.timeout, the minimum AWS asks for an SQS event source mapping (room for the function's own retries of a batch)."
  type        = number
  default     = null

  validation {
    condition     = var.queue_visibility_timeout_seconds == null || try(var.queue_visibility_timeout_seconds <= 43200 && floor(var.queue_visibility_timeout_seconds) == var.queue_visibility_timeout_seconds, false)
    error_message = "queue_visibility_timeout_seconds must be null (6 x consumer.timeout) or a whole number of seconds up to 43,200 (12 hours, the SQS maximum)."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# FIFO queue -> consumer event source mapping
# ---------------------------------------------------------------------------------------------------------------

variable "consumer_batch_size" {
  description = "Most messages per consumer invocation (SQS event source mapping BatchSize; FIFO queues allow at most 10)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.consumer_batch_size >= 1 && var.consumer_batch_size <= 10 && floor(var.consumer_batch_size) == var.consumer_batch_size
    error_message = "consumer_batch_size must be a whole number from 1 to 10 (the limit for a FIFO queue)."
  }
}

variable "consumer_maximum_concurrency" {
  description = "Most concurrent consumer invocations the mapping starts (ScalingConfig MaximumConcurrency), which bounds the write rate on the target. null leaves it to Lambda; concurrency never exceeds the number of active message groups (items) anyway."
  type        = number
  default     = null

  validation {
    condition     = var.consumer_maximum_concurrency == null || try(var.consumer_maximum_concurrency >= 2 && var.consumer_maximum_concurrency <= 1000 && floor(var.consumer_maximum_concurrency) == var.consumer_maximum_concurrency, false)
    error_message = "consumer_maximum_concurrency must be null or a whole number from 2 to 1,000 (the ScalingConfig limits)."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Lambdas
# ---------------------------------------------------------------------------------------------------------------

variable "forwarder" {
  description = <<-EOT
    Settings of the stream forwarder Lambda: memory_size (MB, 128-10240), timeout (seconds, 10-900),
    max_attempts (SendMessageBatch attempts for the entries SQS refused, 1-100), backoff_base_ms and
    backoff_cap_ms (full-jitter exponential backoff), time_safety_margin_seconds (the forwarder stops
    sending this long before its timeout and reports the rest of the batch for a retry; below timeout).
  EOT
  type = object({
    memory_size                = optional(number, 256)
    timeout                    = optional(number, 60)
    max_attempts               = optional(number, 8)
    backoff_base_ms            = optional(number, 50)
    backoff_cap_ms             = optional(number, 5000)
    time_safety_margin_seconds = optional(number, 10)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.forwarder.memory_size >= 128 && var.forwarder.memory_size <= 10240 && floor(var.forwarder.memory_size) == var.forwarder.memory_size
    error_message = "forwarder.memory_size must be a whole number of MB from 128 to 10240."
  }

  validation {
    condition     = var.forwarder.timeout >= 10 && var.forwarder.timeout <= 900 && floor(var.forwarder.timeout) == var.forwarder.timeout
    error_message = "forwarder.timeout must be a whole number of seconds from 10 to 900."
  }

  validation {
    condition     = var.forwarder.max_attempts >= 1 && var.forwarder.max_attempts <= 100 && floor(var.forwarder.max_attempts) == var.forwarder.max_attempts
    error_message = "forwarder.max_attempts must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.forwarder.backoff_base_ms >= 1 && var.forwarder.backoff_cap_ms >= var.forwarder.backoff_base_ms && var.forwarder.backoff_cap_ms <= 300000 && floor(var.forwarder.backoff_base_ms) == var.forwarder.backoff_base_ms && floor(var.forwarder.backoff_cap_ms) == var.forwarder.backoff_cap_ms
    error_message = "forwarder.backoff_base_ms and forwarder.backoff_cap_ms must be whole numbers of milliseconds with 1 <= backoff_base_ms <= backoff_cap_ms <= 300000."
  }

  validation {
    condition     = var.forwarder.time_safety_margin_seconds >= 1 && var.forwarder.time_safety_margin_seconds < var.forwarder.timeout && floor(var.forwarder.time_safety_margin_seconds) == var.forwarder.time_safety_margin_seconds
    error_message = "forwarder.time_safety_margin_seconds must be a whole number of seconds, at least 1 and less than forwarder.timeout."
  }
}

variable "consumer" {
  description = <<-EOT
    Settings of the replication consumer Lambda: memory_size (MB, 128-10240), timeout (seconds, 10-900;
    the queue's visibility timeout is 6x this), max_attempts (attempts of each PutItem/DeleteItem/GetItem,
    1-100), backoff_base_ms and backoff_cap_ms, time_safety_margin_seconds (messages not started this long
    before the timeout go back to the queue, in order; below timeout).
  EOT
  type = object({
    memory_size                = optional(number, 256)
    timeout                    = optional(number, 60)
    max_attempts               = optional(number, 8)
    backoff_base_ms            = optional(number, 50)
    backoff_cap_ms             = optional(number, 5000)
    time_safety_margin_seconds = optional(number, 10)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.consumer.memory_size >= 128 && var.consumer.memory_size <= 10240 && floor(var.consumer.memory_size) == var.consumer.memory_size
    error_message = "consumer.memory_size must be a whole number of MB from 128 to 10240."
  }

  validation {
    condition     = var.consumer.timeout >= 10 && var.consumer.timeout <= 900 && floor(var.consumer.timeout) == var.consumer.timeout
    error_message = "consumer.timeout must be a whole number of seconds from 10 to 900."
  }

  validation {
    condition     = var.consumer.max_attempts >= 1 && var.consumer.max_attempts <= 100 && floor(var.consumer.max_attempts) == var.consumer.max_attempts
    error_message = "consumer.max_attempts must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.consumer.backoff_base_ms >= 1 && var.consumer.backoff_cap_ms >= var.consumer.backoff_base_ms && var.consumer.backoff_cap_ms <= 300000 && floor(var.consumer.backoff_base_ms) == var.consumer.backoff_base_ms && floor(var.consumer.backoff_cap_ms) == var.consumer.backoff_cap_ms
    error_message = "consumer.backoff_base_ms and consumer.backoff_cap_ms must be whole numbers of milliseconds with 1 <= backoff_base_ms <= backoff_cap_ms <= 300000."
  }

  validation {
    condition     = var.consumer.time_safety_margin_seconds >= 1 && var.consumer.time_safety_margin_seconds < var.consumer.timeout && floor(var.consumer.time_safety_margin_seconds) == var.consumer.time_safety_margin_seconds
    error_message = "consumer.time_safety_margin_seconds must be a whole number of seconds, at least 1 and less than consumer.timeout."
  }
}

variable "lambda_settings" {
  description = "Settings every Lambda of ddb-migrate shares: the root module's variables of the same names (layers is the resolved Powertools layer list, bundled_wheels the pinned wheels packed into each zip instead), validated there, so they are not checked again here. Besides both Lambdas, kms_key_arn also encrypts the three queues (null: SSE-SQS); the key policy must let the Lambda roles use it (the default key policy delegates to IAM) and allow CloudWatch Logs."
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

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

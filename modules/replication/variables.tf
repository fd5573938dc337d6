# Internal module: the root module calls it with its own variables, which hold every default and validation.
# Types only here; see the root module's variable replication for what each setting means.

variable "name" {
  description = "Prefix of every resource name of this module (gives <name>-stream-forwarder, <name>-replication.fifo, ...)."
  type        = string
}

variable "source_table" {
  description = "The source table as the root module read it (main.tf), which checks that its stream has view type NEW_AND_OLD_IMAGES: name, arn, stream_arn and kms_key_arn (customer managed key or null) are used here."
  type        = any
}

variable "target_table" {
  description = "The target table as the root module resolved it (main.tf): name, arn, region, role_arn, kms_key_arn, lambda_environment and assume_role_statement."
  type        = any
}

variable "replication" {
  description = "The root module's variable replication, with its defaults applied (see its description there)."
  type = object({
    enabled          = bool
    consumer_enabled = bool
    cutoff_timestamp = string

    stream_batch_size                         = number
    stream_parallelization_factor             = number
    stream_maximum_batching_window_in_seconds = number
    stream_bisect_batch_on_function_error     = bool
    stream_maximum_retry_attempts             = number
    stream_maximum_record_age_in_seconds      = number

    queue_message_retention_seconds  = number
    queue_visibility_timeout_seconds = number
    high_throughput_fifo             = bool
    max_receive_count                = number
    max_message_bytes                = number

    consumer_batch_size          = number
    consumer_maximum_concurrency = number

    forwarder = object({
      memory_size                = number
      timeout                    = number
      max_attempts               = number
      backoff_base_ms            = number
      backoff_cap_ms             = number
      time_safety_margin_seconds = number
    })
    consumer = object({
      memory_size                = number
      timeout                    = number
      max_attempts               = number
      backoff_base_ms            = number
      backoff_cap_ms             = number
      time_safety_margin_seconds = number
    })
  })
}

variable "transform" {
  description = "The backfill's transform, as the root module builds it: steps_json (TRANSFORM_STEPS of both Lambdas) and custom_file (packaged into both as custom_transform.py, or null). The forwarder needs it too: for a record too large for one message it derives the old target keys itself."
  type        = any
}

variable "lambda_settings" {
  description = "Settings every Lambda of ddb-migrate shares (the root module's lambda_settings local). Besides both Lambdas, kms_key_arn also encrypts the three queues (null: SSE-SQS); the key policy must let the Lambda roles use it (the default key policy delegates to IAM) and allow CloudWatch Logs."
  type        = any
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
}

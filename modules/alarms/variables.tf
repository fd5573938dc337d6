variable "name" {
  description = "Prefix of every alarm name (alarms are named <name>-<alarm>)."
  type        = string
}

# Each feature is one object rather than loose nullable names: whether an alarm exists must be known at plan
# time, and an ARN that is only known after apply (a queue created in the same run) would make a per-value
# null check unknown. The object's own null-ness is known as soon as the caller knows the feature is enabled.
variable "backfill" {
  description = "The backfill to watch: the state machine's ARN and the worker function's name. null creates none of its alarms."
  type = object({
    state_machine_arn    = string
    worker_function_name = string
  })
  default = null

  validation {
    condition     = var.backfill == null || can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]+$", try(var.backfill.state_machine_arn, "")))
    error_message = "backfill.state_machine_arn must be a Step Functions state machine ARN."
  }

  validation {
    condition     = var.backfill == null || can(regex("^[A-Za-z0-9_-]{1,64}$", try(var.backfill.worker_function_name, "")))
    error_message = "backfill.worker_function_name must be a Lambda function name (not an ARN)."
  }
}

variable "replication" {
  description = "The live replication to watch: the FIFO dead-letter queue's ARN, the stream mapping's on-failure queue's ARN, and the forwarder's and consumer's function names. null creates none of its alarms."
  type = object({
    dlq_arn                  = string
    stream_failure_queue_arn = string
    forwarder_function_name  = string
    consumer_function_name   = string
  })
  default = null

  validation {
    # || does not short-circuit in Terraform, hence the try() around the attribute reads.
    condition = var.replication == null || try(alltrue([
      for arn in [var.replication.dlq_arn, var.replication.stream_failure_queue_arn] :
      can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$", arn))
    ]), false)
    error_message = "replication.dlq_arn and replication.stream_failure_queue_arn must be SQS queue ARNs."
  }

  validation {
    condition = var.replication == null || try(alltrue([
      for function_name in [var.replication.forwarder_function_name, var.replication.consumer_function_name] :
      can(regex("^[A-Za-z0-9_-]{1,64}$", function_name))
    ]), false)
    error_message = "replication.forwarder_function_name and replication.consumer_function_name must be Lambda function names (not ARNs)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm goes to ALARM (typically one SNS topic). Empty: the alarms only change state."
  type        = list(string)
  nullable    = false
}

variable "ok_actions" {
  description = "ARNs notified when an alarm returns to OK."
  type        = list(string)
  nullable    = false
}

variable "iterator_age_threshold_ms" {
  description = "The forwarder alarm fires when the age of the newest record it read (IteratorAge, Maximum) exceeds this many milliseconds: the change feed is falling behind the source's writes."
  type        = number
}

variable "period_seconds" {
  description = "Period of every alarm in seconds: a multiple of 60, because the AWS/Lambda, AWS/SQS and AWS/States metrics have 1-minute resolution."
  type        = number
}

variable "evaluation_periods" {
  description = "How many consecutive periods must breach before an alarm fires."
  type        = number
}

variable "tags" {
  description = "Tags for every alarm."
  type        = map(string)
}

variable "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  type        = string
}

variable "region" {
  description = "Region of the metrics (the deployment's region); every metric widget names it, and the console URL opens there."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "partition" {
  description = "AWS partition of the deployment (aws, aws-cn, aws-us-gov): the console URL's host depends on it."
  type        = string

  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be aws, aws-cn or aws-us-gov."
  }
}

# Each feature is one object, null while the feature is off, for the reason given in modules/alarms: which
# widgets exist must be known at plan time, while some of the names inside are only known after apply.
variable "backfill" {
  description = "The backfill to show: the state machine's ARN, the worker function's name and the service dimension of the worker's ddb-migrate metrics (its POWERTOOLS_SERVICE_NAME). null leaves out its widgets."
  type = object({
    state_machine_arn    = string
    worker_function_name = string
    worker_service       = string
  })
  default = null

  validation {
    condition     = var.backfill == null || can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]+$", try(var.backfill.state_machine_arn, "")))
    error_message = "backfill.state_machine_arn must be a Step Functions state machine ARN."
  }

  validation {
    condition     = var.backfill == null || try(can(regex("^[A-Za-z0-9_-]{1,64}$", var.backfill.worker_function_name)) && length(var.backfill.worker_service) > 0, false)
    error_message = "backfill.worker_function_name must be a Lambda function name (not an ARN), and backfill.worker_service must not be empty."
  }
}

variable "replication" {
  description = "The live replication to show: the names of the FIFO queue, its dead-letter queue and the stream mapping's on-failure queue, and the forwarder's and consumer's function names and service dimensions. null leaves out its widgets."
  type = object({
    queue_name                = string
    dlq_name                  = string
    stream_failure_queue_name = string
    forwarder_function_name   = string
    forwarder_service         = string
    consumer_function_name    = string
    consumer_service          = string
  })
  default = null

  validation {
    # || does not short-circuit in Terraform, hence the try() around the attribute reads.
    condition = var.replication == null || try(alltrue([
      for queue in [var.replication.queue_name, var.replication.dlq_name, var.replication.stream_failure_queue_name] :
      can(regex("^[A-Za-z0-9_-]{1,80}(\\.fifo)?$", queue))
    ]), false)
    error_message = "replication.queue_name, replication.dlq_name and replication.stream_failure_queue_name must be SQS queue names (not URLs or ARNs)."
  }

  validation {
    condition = var.replication == null || try(alltrue([
      for function_name in [var.replication.forwarder_function_name, var.replication.consumer_function_name] :
      can(regex("^[A-Za-z0-9_-]{1,64}$", function_name))
    ]) && length(var.replication.forwarder_service) > 0 && length(var.replication.consumer_service) > 0, false)
    error_message = "replication.forwarder_function_name and replication.consumer_function_name must be Lambda function names (not ARNs), and the service names must not be empty."
  }
}

variable "iterator_age_alarm_ms" {
  description = "Threshold of the forwarder's iterator age alarm in milliseconds, drawn as a line on the iterator age widget; null draws none (alarms off)."
  type        = number
  default     = null
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the ddb-migrate metrics: the root module's lambda_settings.metrics_namespace, which its Lambdas publish under."
  type        = string
}

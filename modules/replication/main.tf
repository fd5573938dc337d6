data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name

  forwarder_name       = "${var.name}-stream-forwarder"
  consumer_name        = "${var.name}-replication-consumer"
  queue_name           = "${var.name}-replication.fifo"
  dlq_name             = "${var.name}-replication-dlq.fifo"
  stream_failures_name = "${var.name}-stream-failures"

  # The root module reads the source table once (main.tf) and refuses a stream that cannot serve replication.
  source_table_arn = var.source_table.arn
  stream_arn       = var.source_table.stream_arn

  # Lambda asks for a visibility timeout of at least six times the function timeout on an SQS source, so that
  # a message is not handed out again while the first invocation (and Lambda's own retries of a throttled
  # invoke) may still be working on it. A value set below that is refused by the root module's replication.
  queue_visibility_timeout = coalesce(var.replication.queue_visibility_timeout_seconds, 6 * var.replication.consumer.timeout)

  transform_environment = merge(
    { TRANSFORM_STEPS = var.transform.steps_json },
    var.transform.custom_file == null ? {} : { TRANSFORM_MODULE = "custom_transform" },
  )

  # Messages are encrypted by SQS itself unless a customer managed key is given.
  queue_sse_managed        = var.lambda_settings.kms_key_arn == null ? true : null
  queue_kms_reuse_period   = var.lambda_settings.kms_key_arn == null ? null : 300
  sqs_via_service          = { StringEquals = { "kms:ViaService" = "sqs.${local.region}.amazonaws.com" } }
  dynamodb_via_service     = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
  lambda_package_directory = "${path.module}/../../lambda_src"
}

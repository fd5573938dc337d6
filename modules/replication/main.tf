data "aws_region" "current" {}

# Reading the tables turns a typo into a plan-time error that names the table, gives the exact ARNs for the IAM
# policies and the stream the forwarder reads, and lets the plan refuse a source whose stream cannot serve us.
data "aws_dynamodb_table" "source" {
  name = var.source_table_name

  lifecycle {
    precondition {
      condition     = var.target_account != null || var.source_table_name != var.target_table_name
      error_message = "Replication needs a target table other than the source (${var.source_table_name}): the consumer's writes to the source would come back through its stream. For an in-place migration, run the backfill alone."
    }

    postcondition {
      condition     = self.stream_enabled == true && try(length(self.stream_arn) > 0, false)
      error_message = "DynamoDB Streams is not enabled on the source table ${var.source_table_name}. Enable it with view type NEW_AND_OLD_IMAGES (aws dynamodb update-table --table-name ${var.source_table_name} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES, or stream_enabled = true and stream_view_type = \"NEW_AND_OLD_IMAGES\" on its aws_dynamodb_table), then plan again."
    }

    postcondition {
      condition     = self.stream_enabled != true || self.stream_view_type == "NEW_AND_OLD_IMAGES"
      error_message = "The stream of the source table ${var.source_table_name} has view type ${coalesce(self.stream_view_type, "(none)")}, but replication needs NEW_AND_OLD_IMAGES: the consumer puts the new image and deletes the keys derived from the old one. A stream's view type cannot be changed: disable the stream, enable it again with StreamViewType=NEW_AND_OLD_IMAGES (a new stream ARN; the old stream's records stay readable for 24 hours), then plan again."
    }
  }
}

module "target_table" {
  source = "../target_table"

  name    = var.target_table_name
  account = var.target_account
}

locals {
  region = data.aws_region.current.name

  forwarder_name       = "${var.name}-stream-forwarder"
  consumer_name        = "${var.name}-replication-consumer"
  queue_name           = "${var.name}-replication.fifo"
  dlq_name             = "${var.name}-replication-dlq.fifo"
  stream_failures_name = "${var.name}-stream-failures"

  source_table_arn = data.aws_dynamodb_table.source.arn
  stream_arn       = data.aws_dynamodb_table.source.stream_arn

  # Customer managed keys of the tables (null for AWS owned/managed encryption): reading the stream or an item
  # of a table encrypted with one needs kms:Decrypt on it; writing needs the data key actions too.
  source_table_kms_key = try(one([for sse in data.aws_dynamodb_table.source.server_side_encryption : sse.kms_key_arn if sse.enabled]), null)

  # Lambda asks for a visibility timeout of at least six times the function timeout on an SQS source, so that
  # a message is not handed out again while the first invocation (and Lambda's own retries of a throttled
  # invoke) may still be working on it.
  minimum_visibility_timeout = 6 * var.consumer.timeout
  queue_visibility_timeout   = coalesce(var.queue_visibility_timeout_seconds, local.minimum_visibility_timeout)

  transform_environment = merge(
    { TRANSFORM_STEPS = var.transform_steps_json },
    var.custom_transform_file == null ? {} : { TRANSFORM_MODULE = "custom_transform" },
  )

  # Messages are encrypted by SQS itself unless a customer managed key is given.
  queue_sse_managed        = var.lambda_settings.kms_key_arn == null ? true : null
  queue_kms_reuse_period   = var.lambda_settings.kms_key_arn == null ? null : 300
  sqs_via_service          = { StringEquals = { "kms:ViaService" = "sqs.${local.region}.amazonaws.com" } }
  dynamodb_via_service     = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
  lambda_package_directory = "${path.module}/../../lambda_src"
}

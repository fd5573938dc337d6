# The change feed's buffer: one message per stream record, MessageGroupId = sha256 of the item's full primary
# key, MessageDeduplicationId = the stream record's eventID (set by the forwarder, so content-based
# deduplication stays off: two records with equal bodies are still two writes).
resource "aws_sqs_queue" "replication" {
  name                        = local.queue_name
  fifo_queue                  = true
  content_based_deduplication = false
  deduplication_scope         = var.replication.high_throughput_fifo ? "messageGroup" : "queue"
  fifo_throughput_limit       = var.replication.high_throughput_fifo ? "perMessageGroupId" : "perQueue"

  message_retention_seconds  = var.replication.queue_message_retention_seconds
  max_message_size           = var.replication.max_message_bytes
  visibility_timeout_seconds = local.queue_visibility_timeout

  sqs_managed_sse_enabled           = local.queue_sse_managed
  kms_master_key_id                 = var.lambda_settings.kms_key_arn
  kms_data_key_reuse_period_seconds = local.queue_kms_reuse_period

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.replication.max_receive_count
  })

  tags = var.tags

}

# A FIFO queue's dead-letter queue must be FIFO too. Messages that land here are replayed with
# `ddb-migrate replication redrive`, which turns each into a "re-read the source" message; never move them back
# verbatim (the SQS console's "Start DLQ redrive"): newer events of the same item may have been applied since, and
# the stale image would overwrite them.
resource "aws_sqs_queue" "dlq" {
  name                        = local.dlq_name
  fifo_queue                  = true
  content_based_deduplication = false
  deduplication_scope         = var.replication.high_throughput_fifo ? "messageGroup" : "queue"
  fifo_throughput_limit       = var.replication.high_throughput_fifo ? "perMessageGroupId" : "perQueue"

  # The longest SQS allows, whatever the main queue keeps: dead letters wait for an operator.
  message_retention_seconds = 1209600
  max_message_size          = var.replication.max_message_bytes

  sqs_managed_sse_enabled           = local.queue_sse_managed
  kms_master_key_id                 = var.lambda_settings.kms_key_arn
  kms_data_key_reuse_period_seconds = local.queue_kms_reuse_period

  tags = var.tags
}

# Only the replication queue may use the DLQ as its dead-letter queue. A separate resource because the queue's
# redrive policy already names the DLQ (inline, the two queues would refer to each other).
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.replication.arn]
  })
}

# On-failure destination of the stream mapping (Lambda requires a standard queue or an SNS topic here, not
# FIFO). With the default retry settings a record only lands here when it left the stream before the forwarder
# could send it; each message describes a shard range (no item data: the repair is a re-sync of those keys,
# see `ddb-migrate replication redrive --stream-failures`). Alarm on its ApproximateNumberOfMessagesVisible > 0.
resource "aws_sqs_queue" "stream_failures" {
  name       = local.stream_failures_name
  fifo_queue = false

  message_retention_seconds = 1209600

  sqs_managed_sse_enabled           = local.queue_sse_managed
  kms_master_key_id                 = var.lambda_settings.kms_key_arn
  kms_data_key_reuse_period_seconds = local.queue_kms_reuse_period

  tags = var.tags
}

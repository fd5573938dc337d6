# Shared values of the mocked hashicorp/aws provider: a fixed account, region and partition, and
# computed attributes that look like real ARNs so that policies and the state machine definition can be
# asserted on exactly, and the values of the objects every root-module test reads (below). The state machine
# checks after planning that its ARN is the static one its role was scoped to, so tests use name = "demo".

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
    user_id    = "AIDATESTTESTTESTTEST"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-state"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-backfill-worker"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/demo-role"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill"
  }
}

# The tables as the root module reads them (main.tf): the source orders, with a NEW_AND_OLD_IMAGES stream, and
# the target orders-v2, both in this account with AWS owned encryption. A run that needs other tables (in-place,
# a customer managed key, a stream replication refuses) overrides them in its own override_data.
override_data {
  target = data.aws_dynamodb_table.source
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    hash_key               = "pk"
    range_key              = "sk"
    stream_enabled         = true
    stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    stream_view_type       = "NEW_AND_OLD_IMAGES"
    server_side_encryption = []
  }
}

override_data {
  target = data.aws_dynamodb_table.target[0]
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    hash_key               = "pk"
    range_key              = "sk"
    stream_enabled         = false
    server_side_encryption = []
  }
}

# The same tables as the examples' single module "ddb_migrate" reads them.
override_data {
  target = module.ddb_migrate.data.aws_dynamodb_table.source
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    hash_key               = "pk"
    range_key              = "sk"
    stream_enabled         = true
    stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
    stream_view_type       = "NEW_AND_OLD_IMAGES"
    server_side_encryption = []
  }
}

override_data {
  target = module.ddb_migrate.data.aws_dynamodb_table.target[0]
  values = {
    arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-v2"
    hash_key               = "pk"
    range_key              = "sk"
    stream_enabled         = false
    server_side_encryption = []
  }
}

# The replication queues and mappings of a deployment named demo. These follow the test file's
# mock_provider override_during: a file that plans with override_during = plan sees these values, and one that
# does not (alarms_first_apply) sees the queue ARNs unknown, as on a first apply.
override_resource {
  target = module.replication[0].aws_sqs_queue.replication
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo"
  }
}

override_resource {
  target = module.replication[0].aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:demo-replication-dlq.fifo"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo"
  }
}

override_resource {
  target = module.replication[0].aws_sqs_queue.stream_failures
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-stream-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-stream-failures"
  }
}

# The same queues when a run plans modules/replication itself.
override_resource {
  target = aws_sqs_queue.replication
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:demo-replication.fifo"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication.fifo"
  }
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:demo-replication-dlq.fifo"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-replication-dlq.fifo"
  }
}

override_resource {
  target = aws_sqs_queue.stream_failures
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-stream-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/demo-stream-failures"
  }
}

override_resource {
  target = module.replication[0].aws_lambda_event_source_mapping.forwarder
  values = {
    uuid = "00000000-0000-4000-8000-00000000f0f0"
  }
}

override_resource {
  target = module.replication[0].aws_lambda_event_source_mapping.consumer
  values = {
    uuid = "00000000-0000-4000-8000-00000000c0c0"
  }
}

override_resource {
  target = module.alarms[0].aws_cloudwatch_metric_alarm.this
  values = {
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:demo-alarm"
  }
}

# The export bucket the root module creates for a deployment named demo (export.enabled without bucket_name):
# its name is bucket_prefix plus a unique suffix, known after apply only, so the policies need a fixed one here.
override_resource {
  target = module.export_bucket[0].aws_s3_bucket.this
  values = {
    id     = "demo-export-20240101000000000000000001"
    bucket = "demo-export-20240101000000000000000001"
    arn    = "arn:aws:s3:::demo-export-20240101000000000000000001"
  }
}

# The same bucket when a run plans modules/export_bucket itself.
override_resource {
  target = aws_s3_bucket.this
  values = {
    id     = "demo-export-20240101000000000000000001"
    bucket = "demo-export-20240101000000000000000001"
    arn    = "arn:aws:s3:::demo-export-20240101000000000000000001"
  }
}

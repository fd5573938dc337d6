data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  in_place = var.source_table.same_as_target

  state_table_name   = "${var.name}-state"
  worker_name        = "${var.name}-backfill-worker"
  state_machine_name = "${var.name}-backfill"

  # Built from its parts rather than read from the resource: the state machine's role must name the state
  # machine (Distributed Map children are its own executions) before the state machine exists.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
  # The Map Run children ("<name>/<map run label>:<child>"): what a Distributed Map manages. The parent
  # executions ("<name>:<execution>") need nothing from the state machine's own role.
  map_run_children_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*"
}

resource "aws_dynamodb_table" "state" {
  name         = local.state_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.lambda_settings.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

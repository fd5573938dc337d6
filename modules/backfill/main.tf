data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# Reading the tables turns a typo in a table name into a plan-time error that names the table, and gives
# the exact ARNs for the IAM policies.
data "aws_dynamodb_table" "source" {
  name = var.source_table_name
}

module "target_table" {
  source = "../target_table"

  name    = var.target_table_name
  account = var.target_account
}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  in_place = !module.target_table.in_other_account && var.source_table_name == var.target_table_name

  state_table_name   = "${var.name}-state"
  worker_name        = "${var.name}-backfill-worker"
  state_machine_name = "${var.name}-backfill"

  # Built from its parts rather than read from the resource: the state machine's role must name the state
  # machine (Distributed Map children are its own executions) before the state machine exists.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
  # The Map Run children ("<name>/<map run label>:<child>"): what a Distributed Map manages. The parent
  # executions ("<name>:<execution>") need nothing from the state machine's own role.
  map_run_children_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*"

  source_table_kms_key = try(one([for sse in data.aws_dynamodb_table.source.server_side_encryption : sse.kms_key_arn if sse.enabled]), null)
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

# The migration runs in the source table's account (the default provider). Terraform reaches the target's
# account through a role it may assume there, only to create what grants the migration access to the target.
provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "target"
  region = var.region

  assume_role {
    role_arn = var.target_account_admin_role_arn
  }
}

data "aws_partition" "target" {
  provider = aws.target
}

data "aws_caller_identity" "target" {
  provider = aws.target
}

locals {
  target_account_id = data.aws_caller_identity.target.account_id
  use_role          = var.access == "assume-role"
  # Built from its parts: the module needs the role's ARN, and the role trusts the module's Lambda roles.
  target_role_name = "${var.name}-target-access"
  target_role_arn  = "arn:${data.aws_partition.target.partition}:iam::${local.target_account_id}:role/${local.target_role_name}"
}

module "ddb_migrate" {
  source = "../../"

  name              = var.name
  source_table_name = var.source_table_name
  target_table_name = var.target_table_name

  target_account = {
    account_id  = local.target_account_id
    role_arn    = local.use_role ? local.target_role_arn : null
    external_id = local.use_role ? var.external_id : null
  }

  # Live replication into the other account too; the source table needs a NEW_AND_OLD_IMAGES stream.
  replication = {
    enabled          = var.replicate
    cutoff_timestamp = var.cutoff_timestamp
    consumer_enabled = false
  }

  tags = {
    Project = "ddb-migrate"
    Example = "cross-account"
  }
}

# Either: a role in the target's account that the migration's Lambdas assume.
resource "aws_iam_role" "target_access" {
  count    = local.use_role ? 1 : 0
  provider = aws.target

  name               = local.target_role_name
  description        = "Assumed by the ddb-migrate Lambdas of ${var.name} to write ${var.target_table_name}."
  assume_role_policy = module.ddb_migrate.cross_account.role_trust_policy_json
}

resource "aws_iam_role_policy" "target_access" {
  count    = local.use_role ? 1 : 0
  provider = aws.target

  name   = "migrate-into-${var.target_table_name}"
  role   = aws_iam_role.target_access[0].id
  policy = module.ddb_migrate.cross_account.role_policy_json
}

# Or: the target table's resource-based policy lets the Lambda roles call it by its ARN.
resource "aws_dynamodb_resource_policy" "target" {
  count    = local.use_role ? 0 : 1
  provider = aws.target

  resource_arn = module.ddb_migrate.target_table_arn
  policy       = module.ddb_migrate.cross_account.table_resource_policy_json
}

# How the parts that call the target table reach it: in this account by its name; in another one by its ARN
# (DynamoDB reaches another account's table only that way), with their own credentials or an assumed role's.

data "aws_partition" "current" {}
data "aws_region" "current" {}

# Reading the table turns a typo into a plan-time error that names it, and gives its exact ARN. A table in
# another account is not readable with this account's credentials; its ARN is built instead.
data "aws_dynamodb_table" "this" {
  count = local.in_other_account ? 0 : 1

  name = var.name
}

locals {
  in_other_account = var.account != null
  role_arn         = try(var.account.role_arn, null)

  arn = (local.in_other_account
    ? "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.name}:${var.account.account_id}:table/${var.name}"
    : data.aws_dynamodb_table.this[0].arn
  )

  # Through an assumed role the role's own policy covers the target's key; otherwise the callers' roles need it.
  kms_key_arn = (local.in_other_account
    ? (local.role_arn == null ? try(var.account.kms_key_arn, null) : null)
    : try(one([for sse in data.aws_dynamodb_table.this[0].server_side_encryption : sse.kms_key_arn if sse.enabled]), null)
  )
}

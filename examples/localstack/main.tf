# The same module call as examples/backfill-only; only this provider block differs. LocalStack accepts any
# credentials, and the skip_* flags keep the provider from asking AWS's own endpoints (STS validation, the EC2
# metadata service) about them.
provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  # Every service the module's resources and data sources call, including the replication queues and the
  # alarms, so turning those on needs no change here.
  endpoints {
    cloudwatch = var.endpoint
    dynamodb   = var.endpoint
    iam        = var.endpoint
    lambda     = var.endpoint
    logs       = var.endpoint
    sfn        = var.endpoint
    sqs        = var.endpoint
    sts        = var.endpoint
  }
}

module "ddb_migrate" {
  source = "../../"

  name              = var.name
  source_table_name = var.source_table_name
  target_table_name = var.target_table_name

  total_segments  = var.total_segments
  max_concurrency = var.max_concurrency

  transform = {
    steps = [
      { op = "set", attribute = "schema_version", value = jsonencode({ N = "2" }) },
      { op = "timestamp", attribute = "migrated_at", format = "iso8601" },
    ]
  }

  tags = {
    Project = "ddb-migrate"
    Example = "localstack"
  }
}

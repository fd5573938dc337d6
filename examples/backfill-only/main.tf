provider "aws" {
  region = var.region
}

module "ddb_migrate" {
  source = "../../"

  name              = var.name
  source_table_name = var.source_table_name
  target_table_name = var.target_table_name

  total_segments  = var.total_segments
  max_concurrency = var.max_concurrency

  # Stamp every copied item; add more steps, or a transform.custom_file, as the migration needs.
  transform = {
    steps = [
      { op = "set", attribute = "schema_version", value = jsonencode({ N = "2" }) },
      { op = "timestamp", attribute = "migrated_at", format = "iso8601" },
    ]
  }

  tags = {
    Project = "ddb-migrate"
    Example = "backfill-only"
  }
}

provider "aws" {
  region = var.region
}

module "ddb_migrate" {
  source = "../../"

  name              = var.name
  source_table_name = var.source_table_name
  target_table_name = var.target_table_name
  total_segments    = var.total_segments

  # The backfill and the replication consumer apply the same transform, so both paths write the same items.
  transform = {
    steps = [
      { op = "set", attribute = "schema_version", value = jsonencode({ N = "2" }) },
    ]
  }

  replication = {
    enabled = true
    # Paused on the first apply: changes queue up in per-item order while the backfill copies, and are applied
    # after it, so a stale backfill image is always overwritten by the newer change.
    consumer_enabled = var.consumer_enabled
    cutoff_timestamp = var.cutoff_timestamp
  }

  tags = {
    Project = "ddb-migrate"
    Example = "live-migration"
  }
}

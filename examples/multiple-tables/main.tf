provider "aws" {
  region = var.region
}

# One independent deployment per table pair: its own state machine, worker, state table and names, so the pairs
# are run, followed and verified separately.
module "ddb_migrate" {
  source   = "../../"
  for_each = var.migrations

  name              = "${var.name_prefix}-${each.key}"
  source_table_name = each.value.source_table_name
  target_table_name = each.value.target_table_name
  total_segments    = each.value.total_segments

  transform = {
    steps = [
      { op = "set", attribute = "schema_version", value = jsonencode({ N = "2" }) },
    ]
  }

  tags = {
    Project   = "ddb-migrate"
    Example   = "multiple-tables"
    Migration = each.key
  }
}

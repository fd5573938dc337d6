output "state_machine_arn" {
  description = "Start a backfill run on this state machine (ddb-migrate run --terraform-dir .)."
  value       = module.ddb_migrate.state_machine_arn
}

output "target_table_arn" {
  description = "ARN of the target table in the other account: the name the Lambdas use for it."
  value       = module.ddb_migrate.target_table_arn
}

output "cross_account" {
  description = "The principals and policies the target account grants (see the root module's cross_account output)."
  value       = module.ddb_migrate.cross_account
}

output "migration" {
  description = "Every output of the module, for the ddb-migrate CLI (--terraform-dir)."
  value       = module.ddb_migrate
}

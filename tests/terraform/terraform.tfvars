# The root module's required variables for every test file: the deployment "demo" that copies orders into
# orders-v2, the tables the shared mocks (mocks/aws.tfmock.hcl) describe. A file's or a run's variables block
# overrides them; a run that plans a submodule ignores them.
name              = "demo"
source_table_name = "orders"
target_table_name = "orders-v2"

# What the root module passes its Lambdas by default (its lambda_settings local), for the runs that plan an
# internal module (modules/lambda_function, modules/backfill, modules/replication) directly; the root module
# has no such variable and ignores it.
lambda_settings = {
  layers             = []
  bundled_wheels     = []
  lambda_runtime     = "python3.12"
  architecture       = "x86_64"
  python_executable  = "python3"
  log_retention_days = 30
  kms_key_arn        = null
  tracing_enabled    = false
  metrics_namespace  = "ddb-migrate"
}

locals {
  # Every setting the worker reads is set here, defaults included: the root module's variables are the only place
  # that holds them (SCAN_PAGE_LIMIT 0 = DynamoDB's 1 MB pages; PREWARM_ALLOWED false refuses a run that asks
  # for pre-warm, since the state machine then has no capacity states and the worker lacks the permissions;
  # DEFAULT_MAX_*_RATE "" = no budget).
  worker_environment = merge(
    {
      SOURCE_TABLE                    = var.source_table.name
      STATE_TABLE                     = aws_dynamodb_table.state.name
      DEFAULT_TOTAL_SEGMENTS          = tostring(var.total_segments)
      WRITE_CONCURRENCY               = tostring(var.worker.write_concurrency)
      MAX_WRITE_ATTEMPTS              = tostring(var.worker.max_write_attempts)
      BACKOFF_BASE_MS                 = tostring(var.worker.backoff_base_ms)
      BACKOFF_CAP_MS                  = tostring(var.worker.backoff_cap_ms)
      TIME_SAFETY_MARGIN_SECONDS      = tostring(var.worker.time_safety_margin_seconds)
      SCAN_PAGE_LIMIT                 = tostring(coalesce(var.worker.scan_page_limit, 0))
      TRANSFORM_STEPS                 = var.transform.steps_json
      CLEANUP_ALLOWED                 = tostring(var.allow_target_cleanup)
      PREWARM_ALLOWED                 = tostring(var.prewarm.enabled)
      DEFAULT_PREWARM                 = tostring(var.prewarm.enabled && var.prewarm.by_default)
      DEFAULT_PREWARM_RCU             = tostring(var.prewarm.read_capacity_units)
      DEFAULT_PREWARM_WCU             = tostring(var.prewarm.write_capacity_units)
      DEFAULT_PREWARM_WARM_THROUGHPUT = tostring(var.prewarm.warm_throughput_on_demand)
      DEFAULT_MAX_READ_RATE           = var.capacity_budget.max_read_rate == null ? "" : var.capacity_budget.max_read_rate
      DEFAULT_MAX_WRITE_RATE          = var.capacity_budget.max_write_rate == null ? "" : var.capacity_budget.max_write_rate
      MAX_CONCURRENCY                 = tostring(var.max_concurrency)
      # Export ("" while export is off, which the plan refuses a run with source export for).
      EXPORT_BUCKET           = var.export.enabled ? var.export.bucket_name : ""
      EXPORT_PREFIX           = var.export.enabled ? var.export.prefix : ""
      EXPORT_BUCKET_OWNER     = var.export.enabled && var.export.bucket_owner != null ? var.export.bucket_owner : ""
      DEFAULT_BACKFILL_SOURCE = var.export.enabled && var.export.by_default ? "export" : "scan"
    },
    var.transform.custom_file == null ? {} : { TRANSFORM_MODULE = "custom_transform" },
    var.target_table.lambda_environment,
  )

  # Pre-warm and its reset (migration_core.capacity), attached only with prewarm.enabled. It changes tables in
  # the worker's own region only (its auto-scaling statement names this region): a target in another region is
  # left alone, and the raise report says so.
  capacity_table_arns = distinct(concat([var.source_table.arn], var.target_table.in_other_region ? [] : [var.target_table.arn]))
  worker_capacity_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # UpdateTable on the table ARN also covers the tables' GSIs (GlobalSecondaryIndexUpdates) and warm
        # throughput. IAM cannot narrow UpdateTable to throughput changes: the worker's code only ever sends
        # ProvisionedThroughput, WarmThroughput and GSI updates of those two.
        Sid      = "ChangeTableCapacity"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeTable", "dynamodb:UpdateTable"]
        Resource = local.capacity_table_arns
      },
      {
        # Scalable-target ARNs end in a random id, not in the table's name, so the statement cannot name the
        # two tables' targets: the narrowest AWS allows is every scalable target of this account and region,
        # limited by the service's condition keys to DynamoDB's four capacity dimensions. (aws:ResourceTag
        # would need tags on the targets, which pre-warm does not own.) The worker updates only the targets
        # of the tables it migrates, and only their MinCapacity/MaxCapacity: no RoleARN (so no iam:PassRole)
        # and no Tags (so no application-autoscaling:TagResource). It updates targets that already exist, so
        # the DynamoDB auto scaling service-linked role exists too and iam:CreateServiceLinkedRole is not
        # needed.
        Sid      = "RaiseAutoScalingMinimum"
        Effect   = "Allow"
        Action   = "application-autoscaling:RegisterScalableTarget"
        Resource = "arn:${local.partition}:application-autoscaling:${local.region}:${local.account_id}:scalable-target/*"
        Condition = {
          StringEquals = {
            "application-autoscaling:service-namespace" = "dynamodb"
            "application-autoscaling:scalable-dimension" = [
              "dynamodb:table:ReadCapacityUnits",
              "dynamodb:table:WriteCapacityUnits",
              "dynamodb:index:ReadCapacityUnits",
              "dynamodb:index:WriteCapacityUnits",
            ]
          }
        }
      },
    ]
  })

  # BatchGetItem serves the verify phase (consistent reads of both sides). The target needs Scan only for a
  # cleanup run, which scans the target for the keys to delete; an in-place run scans it anyway, as the source.
  # DescribeContinuousBackups: the plan refuses an in-place run or a cleanup, which rewrite or delete the
  # target's items, unless point-in-time recovery is on for it (or the run explicitly accepts going without).
  target_actions = concat(
    ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"],
    var.allow_target_cleanup || local.in_place ? ["dynamodb:DescribeContinuousBackups"] : [],
    var.allow_target_cleanup ? ["dynamodb:Scan"] : [],
  )

  # The run lock (migration_core.guards): a plan finding the lock held asks Step Functions whether the
  # holder's execution still runs. Only the state machine's own executions, not its Map Run children.
  worker_run_lock_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "CheckRunLockHolder"
      Effect   = "Allow"
      Action   = "states:DescribeExecution"
      Resource = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}:*"
    }]
  })

  worker_dynamodb_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadSourceTable"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"]
        Resource = var.source_table.arn
      },
      # With a role, the role in the target's account holds the table permissions (output
      # cross_account.role_policy_json); in another account without one, the table's resource-based policy
      # must allow these too (output cross_account.table_resource_policy_json).
      var.target_table.role_arn == null ? {
        Sid      = "WriteTargetTable"
        Effect   = "Allow"
        Action   = local.target_actions
        Resource = var.target_table.arn
      } : var.target_table.assume_role_statement,
      {
        # The plan reads the tables' auto-scaling maxima, which a budget given as a share ("25%") is of; pre-warm
        # reads the scalable targets it raises. Application Auto Scaling's Describe* actions support no
        # resource-level permissions and no service-specific condition keys: "*" is the only resource they accept.
        Sid      = "ReadAutoScalingTargets"
        Effect   = "Allow"
        Action   = "application-autoscaling:DescribeScalableTargets"
        Resource = "*"
      },
      {
        Sid      = "TrackRunState"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
        Resource = aws_dynamodb_table.state.arn
      },
    ]
  })

  # Tables encrypted with a customer managed key: DynamoDB decrypts the table key with kms:Decrypt on behalf
  # of every caller, reader and writer alike (the table key itself was generated when the table was created),
  # and checks the key with kms:DescribeKey. kms:ViaService keeps the grant to that use.
  # DynamoDB uses a key from the table's own region, so a target in another region has its own statement.
  table_kms_keys_by_region = {
    for region, keys in merge(
      {
        (local.region) = compact([
          var.source_table.kms_key_arn,
          var.target_table.in_other_region ? null : var.target_table.kms_key_arn,
          var.lambda_settings.kms_key_arn,
        ])
      },
      var.target_table.in_other_region ? { (var.target_table.region) = compact([var.target_table.kms_key_arn]) } : {},
    ) : region => distinct(keys) if length(keys) > 0
  }
  table_kms_keys = flatten(values(local.table_kms_keys_by_region))
  worker_kms_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [for region, keys in local.table_kms_keys_by_region : {
      Sid       = region == local.region ? "UseTableKeysThroughDynamoDB" : "UseTargetTableKeyThroughDynamoDB"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:DescribeKey"]
      Resource  = keys
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${region}.amazonaws.com" } }
    }]
  })
  worker_uses_kms = length(local.table_kms_keys) > 0

  # Backfill from a point-in-time export (migration_core export actions), attached only with export.enabled.
  # The export is always of the source table, in the source's region (this one), whatever the target's.
  export_objects_arn = var.export.enabled ? "arn:${local.partition}:s3:::${var.export.bucket_name}/${var.export.prefix}/*" : null
  worker_export_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ExportSourceTable"
          Effect   = "Allow"
          Action   = "dynamodb:ExportTableToPointInTime"
          Resource = var.source_table.arn
        },
        {
          # An export's ARN is the table's ARN followed by /export/<export id>, which DynamoDB picks.
          Sid      = "DescribeSourceExports"
          Effect   = "Allow"
          Action   = "dynamodb:DescribeExport"
          Resource = "${var.source_table.arn}/export/*"
        },
        {
          # The worker never calls these itself: DynamoDB writes the export with the permissions of the caller
          # of ExportTableToPointInTime, which needs s3:AbortMultipartUpload, s3:PutObject and s3:PutObjectAcl on
          # the destination ("Requesting a table export in DynamoDB", DynamoDB Developer Guide).
          Sid      = "WriteExportObjects"
          Effect   = "Allow"
          Action   = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"]
          Resource = local.export_objects_arn
        },
        {
          # The worker reads the manifests (DescribeExport names the summary's key) and the data files.
          Sid      = "ReadExportObjects"
          Effect   = "Allow"
          Action   = "s3:GetObject"
          Resource = local.export_objects_arn
        },
        {
          # One record per data file of the export (up to thousands), 25 per call.
          Sid      = "RecordExportFiles"
          Effect   = "Allow"
          Action   = "dynamodb:BatchWriteItem"
          Resource = aws_dynamodb_table.state.arn
        },
      ],
      # A bucket encrypted with a customer managed key: S3 generates each object's data key as the writer
      # (DynamoDB, with the worker's permissions) and decrypts it for the reader, in the bucket's region, which
      # is the key's.
      var.export.kms_key_arn == null ? [] : [{
        Sid       = "UseExportBucketKeyThroughS3"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.export.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${split(":", var.export.kms_key_arn)[3]}.amazonaws.com" } }
      }],
    )
  })
}

module "worker" {
  source = "../lambda_function"

  function_name = local.worker_name
  description   = "ddb-migrate backfill worker of ${var.name}: plans runs and copies Scan segments or export files."
  handler       = "backfill_worker.handler.lambda_handler"

  source_dir            = "${path.module}/../../lambda_src"
  package_dirs          = ["migration_core", "backfill_worker"]
  custom_transform_file = var.transform.custom_file
  lambda_settings       = var.lambda_settings

  memory_size                    = var.worker.memory_size
  timeout                        = var.worker.timeout
  reserved_concurrent_executions = coalesce(var.worker.reserved_concurrency, -1)

  environment_variables = local.worker_environment

  policies = merge(
    { dynamodb = local.worker_dynamodb_policy, "run-lock" = local.worker_run_lock_policy },
    local.worker_uses_kms ? { kms = local.worker_kms_policy } : {},
    var.prewarm.enabled ? { capacity = local.worker_capacity_policy } : {},
    var.export.enabled ? { export = local.worker_export_policy } : {},
  )

  tags = var.tags
}

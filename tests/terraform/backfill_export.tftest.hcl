# Backfill from a point-in-time export (variable export): the export states between Plan and the Maps (only when
# enabled), the bucket the module creates or the user's, the worker's environment, and its export permissions
# on exact resources. The bucket's own settings are in export_bucket_resources.tftest.hcl; the variable's
# validations in root_export_validation.tftest.hcl.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "disabled_by_default_keeps_the_graph_the_environment_and_the_policies" {
  command = plan

  assert {
    condition = length(setintersection(keys(jsondecode(module.backfill.state_machine_definition).States), [
      "SourceChoice", "StartExport", "ExportReady?", "WaitForExport", "CheckExport", "ExportFiles",
    ])) == 0 && jsondecode(module.backfill.state_machine_definition).States.Plan.Next == "CleanupChoice"
    error_message = "Without export.enabled the state machine has no export states, and Plan goes on as before."
  }

  assert {
    condition = {
      for name in ["EXPORT_BUCKET", "EXPORT_PREFIX", "EXPORT_BUCKET_OWNER", "DEFAULT_BACKFILL_SOURCE"] :
      name => module.backfill.worker_environment_variables[name]
    } == { EXPORT_BUCKET = "", EXPORT_PREFIX = "", EXPORT_BUCKET_OWNER = "", DEFAULT_BACKFILL_SOURCE = "scan" }
    error_message = "Without export.enabled the worker is told there is no export bucket (its plan then refuses source export), and runs scan."
  }

  assert {
    condition     = !contains(keys(module.backfill.worker_role_policies), "export") && !strcontains(jsonencode(module.backfill.worker_role_policies), "s3:")
    error_message = "Without export.enabled the worker gets no export or S3 permissions."
  }

  assert {
    condition     = output.export_bucket_name == null && output.export_bucket_arn == null && length(module.export_bucket) == 0
    error_message = "Without export.enabled no bucket is created, and the export outputs are null."
  }
}

run "created_bucket_states_environment_and_permissions" {
  command = plan

  variables {
    export = { enabled = true }
  }

  assert {
    condition = sort(keys(jsondecode(module.backfill.state_machine_definition).States)) == sort([
      "Plan", "SourceChoice", "StartExport", "ExportReady?", "WaitForExport", "CheckExport", "ExportFiles",
      "CleanupChoice", "CleanupMap", "CleanupHandedOff", "CleanupNextPass?", "CleanupNextPass",
      "CopyMap", "CopyHandedOff", "CopyNextPass?", "CopyNextPass", "Summarize", "Succeeded", "ReportFailure", "Failed",
    ])
    error_message = "Unexpected states: ${join(", ", keys(jsondecode(module.backfill.state_machine_definition).States))}"
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Plan.Next == "SourceChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.Plan.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "Failed" }] &&
      jsondecode(module.backfill.state_machine_definition).States.SourceChoice.Type == "Choice" &&
      # A Scan run has no $.run.source: a Choice on a missing path would fail the execution (States.Runtime).
      jsondecode(module.backfill.state_machine_definition).States.SourceChoice.Choices == [{
        And  = [{ Variable = "$.run.source", IsPresent = true }, { Variable = "$.run.source", StringEquals = "export" }]
        Next = "StartExport"
      }] &&
      jsondecode(module.backfill.state_machine_definition).States.SourceChoice.Default == "CleanupChoice"
    )
    error_message = "Plan goes to SourceChoice, which sends export runs to StartExport and the others where Plan went before."
  }

  assert {
    condition = [for name in ["StartExport", "CheckExport", "ExportFiles"] : jsondecode(module.backfill.state_machine_definition).States[name].Parameters.Payload] == [
      { action = "export_start", "run.$" = "$.run" },
      { action = "export_status", "run.$" = "$.run", "export.$" = "$.export" },
      { action = "export_files", "run.$" = "$.run", "export.$" = "$.export" },
    ]
    error_message = "Each export task sends its worker action with the run, and the export once it is started."
  }

  assert {
    condition = alltrue([for name in ["StartExport", "CheckExport", "ExportFiles"] : (
      jsondecode(module.backfill.state_machine_definition).States[name].Type == "Task" &&
      jsondecode(module.backfill.state_machine_definition).States[name].Resource == "arn:aws:states:::lambda:invoke" &&
      jsondecode(module.backfill.state_machine_definition).States[name].Parameters.FunctionName == "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker" &&
      [for retrier in jsondecode(module.backfill.state_machine_definition).States[name].Retry : retrier.ErrorEquals] == [
        ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException", "Lambda.Unknown"],
        ["Lambda.TooManyRequestsException"],
      ] &&
      jsondecode(module.backfill.state_machine_definition).States[name].Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "ReportFailure" }]
    )])
    error_message = "The export tasks invoke the worker, retry Lambda's transient errors, and report a failure (ExportFailed, InvalidInput) straight away: nothing was raised or written yet."
  }

  assert {
    condition = alltrue([for name in ["StartExport", "CheckExport"] : (
      jsondecode(module.backfill.state_machine_definition).States[name].ResultSelector == { "arn.$" = "$.Payload.export.arn", "status.$" = "$.Payload.export.status" } &&
      jsondecode(module.backfill.state_machine_definition).States[name].ResultPath == "$.export" &&
      jsondecode(module.backfill.state_machine_definition).States[name].Next == "ExportReady?"
    )])
    error_message = "Starting and checking the export keep {arn, status} in $.export and go to ExportReady?."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States["ExportReady?"].Choices == [{ Variable = "$.export.status", StringEquals = "COMPLETED", Next = "ExportFiles" }] &&
      jsondecode(module.backfill.state_machine_definition).States["ExportReady?"].Default == "WaitForExport" &&
      jsondecode(module.backfill.state_machine_definition).States.WaitForExport == { Type = "Wait", Seconds = 60, Next = "CheckExport" }
    )
    error_message = "A completed export goes on to its files; one in progress is checked again after poll_seconds (60 by default)."
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.ExportFiles.ResultSelector == {
        "run.$" = "$.Payload.run"
        passes  = { "cleanup.$" = "$.Payload.segments", "copy.$" = "$.Payload.segments" }
      } &&
      jsondecode(module.backfill.state_machine_definition).States.ExportFiles.ResultPath == "$" &&
      jsondecode(module.backfill.state_machine_definition).States.ExportFiles.Next == "CleanupChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.ExportFiles.ResultSelector == jsondecode(module.backfill.state_machine_definition).States.Plan.ResultSelector
    )
    error_message = "ExportFiles hands the Maps the run and one segment per data file, in the shape Plan gives them for a Scan."
  }

  assert {
    condition     = strcontains(jsondecode(module.backfill.state_machine_definition).Comment, "export")
    error_message = "The definition's Comment must mention the export."
  }

  assert {
    condition = {
      for name in ["EXPORT_BUCKET", "EXPORT_PREFIX", "EXPORT_BUCKET_OWNER", "DEFAULT_BACKFILL_SOURCE"] :
      name => module.backfill.worker_environment_variables[name]
      } == {
      EXPORT_BUCKET           = "demo-export-20240101000000000000000001"
      EXPORT_PREFIX           = "ddb-migrate/demo"
      EXPORT_BUCKET_OWNER     = ""
      DEFAULT_BACKFILL_SOURCE = "scan"
    }
    error_message = "The worker is told the created bucket and the deployment's prefix; runs still scan unless export.by_default."
  }

  assert {
    condition = (
      length(module.export_bucket) == 1 &&
      output.export_bucket_name == "demo-export-20240101000000000000000001" &&
      output.export_bucket_arn == "arn:aws:s3:::demo-export-20240101000000000000000001"
    )
    error_message = "export.enabled without bucket_name creates the bucket, whose name and ARN are outputs."
  }

  assert {
    condition = jsondecode(module.backfill.worker_role_policies["export"]).Statement == [
      {
        Sid      = "ExportSourceTable"
        Effect   = "Allow"
        Action   = "dynamodb:ExportTableToPointInTime"
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      },
      {
        Sid      = "DescribeSourceExports"
        Effect   = "Allow"
        Action   = "dynamodb:DescribeExport"
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/*"
      },
      {
        Sid      = "WriteExportObjects"
        Effect   = "Allow"
        Action   = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:aws:s3:::demo-export-20240101000000000000000001/ddb-migrate/demo/*"
      },
      {
        Sid      = "ReadExportObjects"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "arn:aws:s3:::demo-export-20240101000000000000000001/ddb-migrate/demo/*"
      },
      {
        Sid      = "RecordExportFiles"
        Effect   = "Allow"
        Action   = "dynamodb:BatchWriteItem"
        Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-state"
      },
    ]
    error_message = "Unexpected worker export policy: ${module.backfill.worker_role_policies["export"]}"
  }

  assert {
    condition     = !contains(keys(module.backfill.worker_role_policies), "kms")
    error_message = "A bucket with SSE-S3 and tables with AWS owned keys need no KMS permission."
  }
}

run "created_bucket_with_the_deployments_key" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    export      = { enabled = true, prefix = "exports/orders", poll_seconds = 300, by_default = true }
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["export"]).Statement : statement if startswith(statement.Sid, "UseExport")] == [{
      Sid       = "UseExportBucketKeyThroughS3"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      Condition = { StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" } }
    }]
    error_message = "The created bucket is encrypted with the deployment's key: the worker writes (through DynamoDB) and reads through S3 with it."
  }

  assert {
    condition = (
      module.backfill.worker_environment_variables["EXPORT_PREFIX"] == "exports/orders/demo" &&
      module.backfill.worker_environment_variables["DEFAULT_BACKFILL_SOURCE"] == "export" &&
      jsondecode(module.backfill.state_machine_definition).States.WaitForExport.Seconds == 300 &&
      alltrue([for statement in jsondecode(module.backfill.worker_role_policies["export"]).Statement : statement.Resource == "arn:aws:s3:::demo-export-20240101000000000000000001/exports/orders/demo/*" if startswith(statement.Sid, "ReadExport") || startswith(statement.Sid, "WriteExport")])
    )
    error_message = "prefix, poll_seconds and by_default reach the worker, the state machine and the policy."
  }
}

run "user_bucket_in_another_account_and_region_with_its_key" {
  command = plan

  variables {
    export = {
      enabled      = true
      bucket_name  = "analytics.exports-eu"
      bucket_owner = "210987654321"
      kms_key_arn  = "arn:aws:kms:eu-west-1:210987654321:key/abcd1234-12ab-34cd-56ef-1234567890ab"
    }
  }

  assert {
    condition     = length(module.export_bucket) == 0 && output.export_bucket_name == "analytics.exports-eu" && output.export_bucket_arn == "arn:aws:s3:::analytics.exports-eu"
    error_message = "A user's bucket is used as it is: no bucket is created."
  }

  assert {
    condition = {
      for name in ["EXPORT_BUCKET", "EXPORT_PREFIX", "EXPORT_BUCKET_OWNER"] : name => module.backfill.worker_environment_variables[name]
    } == { EXPORT_BUCKET = "analytics.exports-eu", EXPORT_PREFIX = "ddb-migrate/demo", EXPORT_BUCKET_OWNER = "210987654321" }
    error_message = "The worker is told the user's bucket and its owner (ExportTableToPointInTime's S3BucketOwner)."
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["export"]).Statement : [statement.Sid, statement.Resource]] == [
      ["ExportSourceTable", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
      ["DescribeSourceExports", "arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/*"],
      ["WriteExportObjects", "arn:aws:s3:::analytics.exports-eu/ddb-migrate/demo/*"],
      ["ReadExportObjects", "arn:aws:s3:::analytics.exports-eu/ddb-migrate/demo/*"],
      ["RecordExportFiles", "arn:aws:dynamodb:us-east-1:123456789012:table/demo-state"],
      ["UseExportBucketKeyThroughS3", "arn:aws:kms:eu-west-1:210987654321:key/abcd1234-12ab-34cd-56ef-1234567890ab"],
    ]
    error_message = "Unexpected worker export policy: ${module.backfill.worker_role_policies["export"]}"
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["export"]).Statement : statement.Condition if statement.Sid == "UseExportBucketKeyThroughS3"] == [
      { StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" } }
    ]
    error_message = "The bucket's key is used through S3 in the key's (the bucket's) region."
  }
}

run "target_in_another_region_still_exports_the_source_here" {
  command = plan

  variables {
    target_table_name = "orders"
    target_region     = "eu-west-1"
    export            = { enabled = true }
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["export"]).Statement : statement.Resource if contains(["ExportSourceTable", "DescribeSourceExports"], statement.Sid)] == [
      "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
      "arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/*",
    ]
    error_message = "The export is of the source table, in the source's region, whatever the target's."
  }
}

run "with_prewarm_the_capacity_is_raised_after_the_export" {
  command = plan

  variables {
    prewarm = { enabled = true }
    export  = { enabled = true }
  }

  assert {
    condition = (
      jsondecode(module.backfill.state_machine_definition).States.Plan.Next == "SourceChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.SourceChoice.Default == "PrewarmChoice" &&
      jsondecode(module.backfill.state_machine_definition).States.ExportFiles.Next == "PrewarmChoice" &&
      contains(keys(jsondecode(module.backfill.state_machine_definition).States), "CaptureCapacity")
    )
    error_message = "With pre-warm, both sources reach PrewarmChoice: an export run only after its export, so capacity is not held raised while it runs."
  }

  assert {
    condition = [for name in ["StartExport", "CheckExport", "ExportFiles"] : jsondecode(module.backfill.state_machine_definition).States[name].Catch] == [
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "CaptureFailed" }],
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "CaptureFailed" }],
      [{ ErrorEquals = ["States.ALL"], ResultPath = "$.failure", Next = "CaptureFailed" }],
    ]
    error_message = "A failed export raised nothing: it goes through CaptureFailed ($.capacity without a change, which ReportFailure sends) to ReportFailure, not through the reset."
  }
}

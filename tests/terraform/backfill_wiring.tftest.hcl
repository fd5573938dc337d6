# How the root module wires the backfill: worker environment, transform, packaging, layers, in-place mode.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

run "worker_environment_follows_the_contract" {
  command = plan

  assert {
    condition = module.backfill.worker_environment_variables == tomap({
      SOURCE_TABLE                 = "orders"
      TARGET_TABLE                 = "orders-v2"
      STATE_TABLE                  = "demo-state"
      DEFAULT_TOTAL_SEGMENTS       = "16"
      WRITE_CONCURRENCY            = "8"
      MAX_WRITE_ATTEMPTS           = "10"
      BACKOFF_BASE_MS              = "50"
      BACKOFF_CAP_MS               = "20000"
      TIME_SAFETY_MARGIN_SECONDS   = "60"
      SCAN_PAGE_LIMIT              = "0"
      TRANSFORM_STEPS              = "[]"
      CLEANUP_ALLOWED              = "false"
      PREWARM_ALLOWED              = "false"
      DEFAULT_PREWARM              = "false"
      DEFAULT_PREWARM_RCU          = "12000"
      DEFAULT_PREWARM_WCU          = "4000"
      POWERTOOLS_SERVICE_NAME      = "demo-backfill-worker"
      POWERTOOLS_TRACE_DISABLED    = "true"
      POWERTOOLS_METRICS_NAMESPACE = "ddb-migrate"

      DEFAULT_PREWARM_WARM_THROUGHPUT = "false"
      DEFAULT_MAX_READ_RATE           = ""
      DEFAULT_MAX_WRITE_RATE          = ""
      MAX_CONCURRENCY                 = "50"
      EXPORT_BUCKET                   = ""
      EXPORT_PREFIX                   = ""
      EXPORT_BUCKET_OWNER             = ""
      DEFAULT_BACKFILL_SOURCE         = "scan"
    })
    error_message = "Unexpected worker environment: ${jsonencode(module.backfill.worker_environment_variables)}"
  }

  assert {
    condition     = output.in_place == false && output.source_table_name == "orders" && output.target_table_name == "orders-v2"
    error_message = "A copy between two tables is not in place."
  }
}

run "capacity_budget_reaches_the_worker" {
  command = plan

  variables {
    max_concurrency = 24
    capacity_budget = { max_read_rate = "25%", max_write_rate = "1500.5" }
  }

  assert {
    condition     = [for key in ["DEFAULT_MAX_READ_RATE", "DEFAULT_MAX_WRITE_RATE", "MAX_CONCURRENCY"] : module.backfill.worker_environment_variables[key]] == ["25%", "1500.5", "24"]
    error_message = "The capacity budget and the Map's concurrency must reach the worker: ${jsonencode(module.backfill.worker_environment_variables)}"
  }
}

run "worker_settings_reach_the_environment" {
  command = plan

  variables {
    total_segments = 1000
    worker = {
      write_concurrency          = 32
      max_write_attempts         = 20
      backoff_base_ms            = 25
      backoff_cap_ms             = 5000
      time_safety_margin_seconds = 90
      scan_page_limit            = 500
    }
  }

  assert {
    condition = [for key in ["DEFAULT_TOTAL_SEGMENTS", "WRITE_CONCURRENCY", "MAX_WRITE_ATTEMPTS", "BACKOFF_BASE_MS", "BACKOFF_CAP_MS", "TIME_SAFETY_MARGIN_SECONDS", "SCAN_PAGE_LIMIT"] : module.backfill.worker_environment_variables[key]] == [
      "1000", "32", "20", "25", "5000", "90", "500",
    ]
    error_message = "Worker settings must reach the worker's environment."
  }
}

run "transform_steps_are_normalised" {
  command = plan

  variables {
    transform = {
      steps = [
        { op = "set", attribute = "status", value = jsonencode({ S = "migrated" }) },
        { op = "set", attribute = "big", value = "{\"N\": \"12345678901234567890123456789012345678\"}" },
        { op = "set", attribute = "nested", value = jsonencode({ M = { a = { L = [{ BOOL = true }, { NULL = true }] } } }) },
        { op = "rename", attribute = "old", to = "new" },
        { op = "remove", attribute = "tmp" },
        { op = "timestamp", attribute = "updatedAt" },
        { op = "timestamp", attribute = "migratedAtMs", format = "epoch_millis" },
        { op = "derive", attribute = "pk", template = "{tenant}#{id}" },
      ]
    }
  }

  assert {
    condition = jsondecode(module.backfill.worker_environment_variables["TRANSFORM_STEPS"]) == [
      { op = "set", attribute = "status", value = { S = "migrated" } },
      { op = "set", attribute = "big", value = { N = "12345678901234567890123456789012345678" } },
      { op = "set", attribute = "nested", value = { M = { a = { L = [{ BOOL = true }, { NULL = true }] } } } },
      { op = "rename", attribute = "old", to = "new" },
      { op = "remove", attribute = "tmp" },
      { op = "timestamp", attribute = "updatedAt", format = "iso8601" },
      { op = "timestamp", attribute = "migratedAtMs", format = "epoch_millis" },
      { op = "derive", attribute = "pk", template = "{tenant}#{id}" },
    ]
    error_message = "Unexpected TRANSFORM_STEPS: ${module.backfill.worker_environment_variables["TRANSFORM_STEPS"]}"
  }

  assert {
    condition     = strcontains(module.backfill.worker_environment_variables["TRANSFORM_STEPS"], "\"N\":\"12345678901234567890123456789012345678\"")
    error_message = "Numbers must stay strings with all 38 digits."
  }

  assert {
    condition     = output.transform_steps_json == module.backfill.worker_environment_variables["TRANSFORM_STEPS"]
    error_message = "The transform_steps_json output must be what the worker receives."
  }

  assert {
    condition     = !contains(keys(module.backfill.worker_environment_variables), "TRANSFORM_MODULE")
    error_message = "Without a custom file there must be no TRANSFORM_MODULE."
  }
}

run "custom_transform_file_is_packaged" {
  command = plan

  variables {
    transform = { custom_file = "tests/terraform/fixtures/example_transform.py" }
  }

  assert {
    condition     = module.backfill.worker_environment_variables["TRANSFORM_MODULE"] == "custom_transform"
    error_message = "A custom file must set TRANSFORM_MODULE=custom_transform."
  }

  # The package's identity covers every packaged file, the custom transform (under its zip name), the bundled
  # wheels and the build script, so changing any of them rebuilds and redeploys the function.
  assert {
    condition = module.backfill.worker_source_hash == sha256(join("\n", concat(
      [
        for file in sort(setunion(fileset("lambda_src", "migration_core/**"), fileset("lambda_src", "backfill_worker/**"))) : "${file} ${filesha256("lambda_src/${file}")}"
        if !strcontains(file, "__pycache__") && !endswith(file, ".pyc") && !strcontains(file, "/.")
      ],
      ["custom_transform.py ${filesha256("tests/terraform/fixtures/example_transform.py")}"],
      [for wheel in ["aws_lambda_powertools-3.37.0-py3-none-any.whl", "typing_extensions-4.16.0-py3-none-any.whl"] : "wheel ${wheel} ${filesha256("modules/lambda_function/vendor/${wheel}")}"],
      ["package.py ${filesha256("modules/lambda_function/package.py")}"],
    )))
    error_message = "The source hash must cover the packages, the custom transform, the bundled wheels and package.py."
  }

  assert {
    condition     = endswith(module.backfill.worker_package_path, "modules/lambda_function/.build/demo-backfill-worker-${substr(module.backfill.worker_source_hash, 0, 24)}.zip")
    error_message = "The zip path must be content-addressed: ${module.backfill.worker_package_path}"
  }
}

run "in_place_migration" {
  command = plan

  variables {
    target_table_name = "orders"
  }

  override_data {
    target = data.aws_dynamodb_table.target[0]
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      server_side_encryption = []
    }
  }

  assert {
    condition     = output.in_place && module.backfill.worker_environment_variables["SOURCE_TABLE"] == module.backfill.worker_environment_variables["TARGET_TABLE"]
    error_message = "Source == target must plan as an in-place migration."
  }

  assert {
    condition = [for statement in jsondecode(module.backfill.worker_role_policies["dynamodb"]).Statement : statement.Resource] == [
      "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
      "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
      "*",
      "arn:aws:dynamodb:us-east-1:123456789012:table/demo-state",
    ]
    error_message = "In place, the worker reads and writes the one table."
  }
}

run "powertools_is_bundled_by_default" {
  command = plan

  assert {
    condition     = output.powertools_layer_arn == null
    error_message = "By default Powertools is bundled into the zips and no layer is attached."
  }

  assert {
    condition     = [for wheel in module.backfill.worker_bundled_wheels : basename(wheel)] == ["aws_lambda_powertools-3.37.0-py3-none-any.whl", "typing_extensions-4.16.0-py3-none-any.whl"]
    error_message = "The worker must bundle the pinned Powertools wheels: ${jsonencode(module.backfill.worker_bundled_wheels)}"
  }
}

run "powertools_layer_defaults_to_the_public_layer" {
  command = plan

  variables {
    powertools = { source = "layer" }
  }

  assert {
    condition     = output.powertools_layer_arn == "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27" && length(module.backfill.worker_bundled_wheels) == 0
    error_message = "Unexpected default layer: ${output.powertools_layer_arn}"
  }
}

run "powertools_layer_follows_runtime_and_architecture" {
  command = plan

  variables {
    lambda_runtime = "python3.13"
    architecture   = "arm64"
    powertools     = { source = "layer" }
  }

  assert {
    condition     = output.powertools_layer_arn == "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
    error_message = "Unexpected layer: ${output.powertools_layer_arn}"
  }
}

run "powertools_layer_can_be_given" {
  command = plan

  variables {
    powertools = { source = "layer", layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:my-powertools:3" }
  }

  assert {
    condition     = output.powertools_layer_arn == "arn:aws:lambda:us-east-1:123456789012:layer:my-powertools:3"
    error_message = "The given layer must be attached: ${output.powertools_layer_arn}"
  }
}

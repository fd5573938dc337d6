# apply with a mocked provider still runs the local-exec provisioner, so this builds the real worker zip
# (into modules/lambda_function/.build, git-ignored). Mocked values are generated at apply here: with
# override_during = plan the provider would see them change between plan and apply.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

run "apply_builds_the_worker_zip" {
  command = apply

  variables {
    transform = { custom_file = "tests/terraform/fixtures/example_transform.py" }
  }

  assert {
    condition     = fileexists(module.backfill.worker_package_path)
    error_message = "apply must leave the worker zip at ${module.backfill.worker_package_path}."
  }

  assert {
    condition     = output.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill"
    error_message = "The applied state machine must have the static ARN its role is scoped to."
  }
}

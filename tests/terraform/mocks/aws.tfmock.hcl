# Shared values of the mocked hashicorp/aws provider: a fixed account, region and partition, and
# computed attributes that look like real ARNs so that policies and the state machine definition can be
# asserted on exactly. Per-table values are set with override_data in each test file. The state machine
# checks after planning that its ARN is the static one its role was scoped to, so tests use name = "demo".

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
    user_id    = "AIDATESTTESTTESTTEST"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-state"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:demo-backfill-worker"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/demo-backfill-worker"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/demo-role"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-backfill"
  }
}

# modules/export_bucket, planned on its own: the bucket a backfill from a point-in-time export writes into is
# encrypted, private, TLS-only, and deletes the exports after expiry_days. The root module's wiring of it is in
# backfill_export.tftest.hcl.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  name          = "demo"
  prefix        = "ddb-migrate/demo"
  expiry_days   = 7
  kms_key_arn   = null
  force_destroy = false
  tags          = { Project = "ddb-migrate" }
}

run "sse_s3_without_a_customer_managed_key" {
  command = plan

  module {
    source = "./modules/export_bucket"
  }

  assert {
    condition = [for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule : [
      one(rule.apply_server_side_encryption_by_default).sse_algorithm,
      one(rule.apply_server_side_encryption_by_default).kms_master_key_id == null,
      rule.bucket_key_enabled,
    ]] == [["AES256", true, false]]
    error_message = "Without a customer managed key the bucket uses SSE-S3 (AES256), got ${jsonencode(aws_s3_bucket_server_side_encryption_configuration.this.rule)}."
  }

  assert {
    condition = [
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
      aws_s3_bucket_public_access_block.this.bucket == "demo-export-20240101000000000000000001",
    ] == [true, true, true, true, true]
    error_message = "Every public access block setting must be on, on the export bucket."
  }

  assert {
    condition     = [for rule in aws_s3_bucket_ownership_controls.this.rule : rule.object_ownership] == ["BucketOwnerEnforced"]
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = jsondecode(aws_s3_bucket_policy.this.policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = ["arn:aws:s3:::demo-export-20240101000000000000000001", "arn:aws:s3:::demo-export-20240101000000000000000001/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }]
    } && output.bucket_policy == aws_s3_bucket_policy.this.policy
    error_message = "The bucket policy must deny every request without TLS, on the bucket and its objects, and grant nothing: ${aws_s3_bucket_policy.this.policy}"
  }

  assert {
    condition = [for rule in aws_s3_bucket_lifecycle_configuration.this.rule : [
      rule.id,
      rule.status,
      rule.id == "expire-exports" ? one(rule.filter).prefix : "(whole bucket: the filter is empty)",
      try(one(rule.expiration).days, 0),
      try(one(rule.abort_incomplete_multipart_upload).days_after_initiation, 0),
      ]] == [
      ["expire-exports", "Enabled", "ddb-migrate/demo/", 7, 0],
      ["abort-incomplete-uploads", "Enabled", "(whole bucket: the filter is empty)", 0, 1],
    ]
    error_message = "The lifecycle must expire the deployment's exports after expiry_days, and abort the bucket's abandoned multipart uploads after a day: ${jsonencode(aws_s3_bucket_lifecycle_configuration.this.rule)}"
  }

  assert {
    condition = (
      aws_s3_bucket.this.bucket_prefix == "demo-export-" &&
      aws_s3_bucket.this.force_destroy == false &&
      aws_s3_bucket.this.tags == tomap({ Project = "ddb-migrate" }) &&
      [output.bucket_name, output.bucket_arn] == ["demo-export-20240101000000000000000001", "arn:aws:s3:::demo-export-20240101000000000000000001"]
    )
    error_message = "The bucket is named from the deployment's name, tagged, kept by terraform destroy while it holds exports, and its name and ARN are outputs."
  }
}

run "sse_kms_with_the_deployments_key" {
  command = plan

  module {
    source = "./modules/export_bucket"
  }

  variables {
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    expiry_days   = 30
    force_destroy = true
  }

  assert {
    condition = [for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule : {
      algorithm  = one(rule.apply_server_side_encryption_by_default).sse_algorithm
      key        = one(rule.apply_server_side_encryption_by_default).kms_master_key_id
      bucket_key = rule.bucket_key_enabled
    }] == [{ algorithm = "aws:kms", key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", bucket_key = true }]
    error_message = "With a customer managed key the bucket uses SSE-KMS with that key and an S3 Bucket Key."
  }

  assert {
    condition     = [for rule in aws_s3_bucket_lifecycle_configuration.this.rule : one(rule.expiration).days if rule.id == "expire-exports"] == [30] && aws_s3_bucket.this.force_destroy
    error_message = "expiry_days and force_destroy reach the bucket."
  }
}

run "long_names_are_cut_to_fit_the_bucket_name_limit" {
  command = plan

  module {
    source = "./modules/export_bucket"
  }

  variables {
    name = "Orders-Migration-To-V2-Partitioned"
  }

  assert {
    # The provider appends 26 characters to a prefix of at most 37: a bucket name of at most 63.
    condition     = aws_s3_bucket.this.bucket_prefix == "orders-migration-to-v2-partit-export-" && length(aws_s3_bucket.this.bucket_prefix) == 37
    error_message = "The bucket prefix must be lower case and at most 37 characters, got ${aws_s3_bucket.this.bucket_prefix}."
  }
}

run "reserved_bucket_name_prefix_is_refused" {
  command = plan

  module {
    source = "./modules/export_bucket"
  }

  variables {
    name = "xn--demo"
  }

  expect_failures = [aws_s3_bucket.this]
}

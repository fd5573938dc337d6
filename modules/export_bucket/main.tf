locals {
  # S3 bucket names are lower case and at most 63 characters: bucket_prefix takes at most 37, and the provider
  # appends a 26-character unique suffix (a time stamp and a counter), so two deployments of the same name
  # (other regions, or a redeploy while the old bucket's name is still held) never collide.
  bucket_prefix = "${substr(lower(var.name), 0, 29)}-export-"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket per deployment; the objects are DynamoDB's own export, written and read only by the worker's role, and CloudTrail records the export and the role's calls.
  #checkov:skip=CKV_AWS_21:Versioning would keep every expired export as a noncurrent version: the bucket holds short-lived copies that a new export reproduces, and the lifecycle rule is meant to delete them.
  #checkov:skip=CKV_AWS_144:Cross-region replication would copy a short-lived export that the table itself (and its point-in-time recovery) can reproduce at any time.
  #checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events: the state machine polls DescribeExport and reads the export's manifest.
  bucket_prefix = local.bucket_prefix
  force_destroy = var.force_destroy

  tags = var.tags

  lifecycle {
    # The root module accepts names that S3 refuses at the start of a bucket name.
    precondition {
      condition     = !anytrue([for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(local.bucket_prefix, reserved)])
      error_message = "The export bucket's name would start with ${local.bucket_prefix}, which S3 reserves (xn--, sthree-, amzn-s3-demo-). Pass export.bucket_name, or choose another name."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  # ACLs off: the bucket owns every object, including those DynamoDB writes with the export's PutObjectAcl.
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  #checkov:skip=CKV_AWS_145:SSE-KMS is used whenever the deployment has a customer managed key (the root kms_key_arn); without one the bucket uses SSE-S3, as every other resource of the deployment uses AWS owned keys then.
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One data key per bucket instead of per object: an export writes many objects, each a KMS request otherwise.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # S3 refuses concurrent changes of one bucket's configuration (OperationAborted), and a policy put while the
  # public access block is still being set may be checked against the old settings.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-exports"
    status = "Enabled"

    filter {
      prefix = "${var.prefix}/"
    }

    expiration {
      days = var.expiry_days
    }
  }

  # Every abandoned upload in the bucket, not only under the prefix. DynamoDB uploads each data file in one
  # multipart upload that ends within minutes; one still incomplete a day later belongs to a failed or
  # cancelled export, and its parts are billed until the upload is aborted.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

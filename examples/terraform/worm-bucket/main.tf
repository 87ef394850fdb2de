# The WORM evidence bucket of `worm bucket setup`, as a Terraform module: the eight
# resources (bucket with Object Lock, public access block, versioning, default encryption,
# Object Lock default retention, lifecycle rule, TLS-only bucket policy, uploader IAM
# policy). `worm bucket verify --store s3://NAME` checks the result.

terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

data "aws_region" "current" {}

# 1. The bucket. Object Lock can only be enabled when the bucket is created.
resource "aws_s3_bucket" "evidence" {
  bucket              = var.bucket_name
  object_lock_enabled = true
  tags                = var.tags
}

# 2. Public access block: all four flags.
resource "aws_s3_bucket_public_access_block" "evidence" {
  bucket                  = aws_s3_bucket.evidence.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

# 3. Versioning (Object Lock needs it; it must never be suspended).
resource "aws_s3_bucket_versioning" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  versioning_configuration {
    status = "Enabled"
  }
}

# 4. Default encryption at rest.
resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = var.sse_algorithm == "aws:kms" ? var.kms_key_arn : null
    }
    bucket_key_enabled = var.sse_algorithm == "aws:kms"
  }
}

# 5. Object Lock default retention for new versions.
resource "aws_s3_bucket_object_lock_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    default_retention {
      mode = var.retention_mode
      days = var.retention_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.evidence]
}

# 6. Lifecycle: transition, then expiry only after retention + grace (never earlier).
resource "aws_s3_bucket_lifecycle_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    id     = "worm-evidence-retention"
    status = "Enabled"
    filter {
      prefix = var.evidence_prefix
    }
    dynamic "transition" {
      for_each = var.lifecycle_transition_days == null ? [] : [var.lifecycle_transition_days]
      content {
        days          = transition.value
        storage_class = var.transition_storage_class
      }
    }
    expiration {
      days = var.retention_days + var.expire_grace_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.retention_days + var.expire_grace_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.evidence]
}

# 7. Bucket policy: deny every request made without TLS.
resource "aws_s3_bucket_policy" "tls_only" {
  bucket = aws_s3_bucket.evidence.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.evidence.arn, "${aws_s3_bucket.evidence.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  # The public access block first, so the policy is never evaluated without it.
  depends_on = [aws_s3_bucket_public_access_block.evidence]
}

# 8. Least-privilege uploader policy (the one `worm bucket setup --print-iam-policy` prints):
# write and read evidence under the prefix, list only the prefix, read the lock settings.
# No delete, no retention bypass, no bucket configuration writes.
resource "aws_iam_policy" "uploader" {
  name        = "${var.bucket_name}-uploader"
  description = "Upload WORM evidence to ${var.bucket_name}/${var.evidence_prefix}"
  tags        = var.tags
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "EvidenceObjects"
        Effect = "Allow"
        Action = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:GetObjectVersion",
        "s3:GetObjectRetention", "s3:GetObjectLegalHold"]
        Resource = "${aws_s3_bucket.evidence.arn}/${var.evidence_prefix}*"
      },
      {
        Sid       = "ListEvidencePrefix"
        Effect    = "Allow"
        Action    = ["s3:ListBucket", "s3:ListBucketVersions"]
        Resource  = aws_s3_bucket.evidence.arn
        Condition = { StringLike = { "s3:prefix" = "${var.evidence_prefix}*" } }
      },
      {
        Sid      = "ReadBucketLockConfiguration"
        Effect   = "Allow"
        Action   = ["s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning"]
        Resource = aws_s3_bucket.evidence.arn
      }
    ]
  })
}

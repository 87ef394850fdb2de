output "bucket_name" {
  description = "Name of the evidence bucket."
  value       = aws_s3_bucket.evidence.id
}

output "bucket_arn" {
  description = "ARN of the evidence bucket (for IAM policies)."
  value       = aws_s3_bucket.evidence.arn
}

output "bucket_region" {
  description = "Region of the evidence bucket."
  value       = data.aws_region.current.name
}

output "uploader_policy_arn" {
  description = "ARN of the least-privilege uploader policy: attach it to the uploader's role or user."
  value       = aws_iam_policy.uploader.arn
}

output "object_lock_enabled" {
  description = "Whether Object Lock is enabled on the bucket."
  value       = aws_s3_bucket.evidence.object_lock_enabled
}

output "retention_days" {
  description = "Default retention in days."
  value       = var.retention_days
}

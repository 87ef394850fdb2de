# Inputs of the WORM evidence bucket module (the same knobs as `worm bucket setup`).

variable "bucket_name" {
  description = "Name of the evidence bucket: globally unique, DNS-compatible (3-63 characters, lowercase, no underscores)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens (no underscores)."
  }
}

variable "retention_days" {
  description = "Default Object Lock retention in days for new evidence versions (HIPAA: at least 90)."
  type        = number
  default     = 90
  validation {
    condition     = var.retention_days >= 90
    error_message = "retention_days must be at least 90."
  }
}

variable "retention_mode" {
  description = "Default Object Lock mode: COMPLIANCE (nobody can shorten or delete) or GOVERNANCE."
  type        = string
  default     = "COMPLIANCE"
  validation {
    condition     = contains(["COMPLIANCE", "GOVERNANCE"], var.retention_mode)
    error_message = "retention_mode must be COMPLIANCE or GOVERNANCE."
  }
}

variable "lifecycle_transition_days" {
  description = "Days before evidence moves to the transition storage class (null: no transition)."
  type        = number
  default     = 30
}

variable "transition_storage_class" {
  description = "Storage class evidence moves to after lifecycle_transition_days."
  type        = string
  default     = "GLACIER"
}

variable "expire_grace_days" {
  description = "Versions expire this many days after their retention ends (never before)."
  type        = number
  default     = 30
}

variable "evidence_prefix" {
  description = "Key prefix of the evidence objects (lifecycle rule and uploader policy scope)."
  type        = string
  default     = "evidence/"
}

variable "sse_algorithm" {
  description = "Default encryption: AES256 or aws:kms."
  type        = string
  default     = "AES256"
  validation {
    condition     = contains(["AES256", "aws:kms"], var.sse_algorithm)
    error_message = "sse_algorithm must be AES256 or aws:kms."
  }
}

variable "kms_key_arn" {
  description = "KMS key for aws:kms (null: the account's aws/s3 key)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the bucket and the policy."
  type        = map(string)
  default     = { Purpose = "worm-evidence" }
}

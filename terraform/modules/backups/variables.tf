variable "bucket_name" {
  description = "Name of the backups bucket; k8s/overlays/<environment> names it in BACKUP_S3_BUCKET (\"<account alias>-postgres-backups\": IAM account aliases are globally unique, so the name is too)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "cluster_name" {
  description = "EKS cluster whose ServiceAccount tradestorm/postgres-backup gets the role (Pod Identity)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the platform."
  type        = string
  default     = "tradestorm"
}

variable "service_account" {
  description = "ServiceAccount of the backup CronJob and of the restore Job (k8s/base/backup, k8s/ops)."
  type        = string
  default     = "postgres-backup"
}

variable "infrequent_access_after_days" {
  description = "Days after which a dump moves to STANDARD_IA."
  type        = number
  default     = 30
}

variable "expire_after_days" {
  description = "Days after which a dump is deleted (its noncurrent versions 7 days later)."
  type        = number

  validation {
    condition     = var.expire_after_days > 30
    error_message = "expire_after_days must be more than 30 (STANDARD_IA needs 30 days)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

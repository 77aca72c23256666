output "bucket_name" {
  description = "The backups bucket (BACKUP_S3_BUCKET of k8s/overlays/<environment>)."
  value       = aws_s3_bucket.this.id
}

output "kms_key_arn" {
  description = "KMS key of the bucket."
  value       = aws_kms_key.this.arn
}

output "role_arn" {
  description = "Role of the backup and restore pods (EKS Pod Identity)."
  value       = aws_iam_role.backup.arn
}

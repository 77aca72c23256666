output "secret_arn" {
  description = "ARN of the platform secret."
  value       = aws_secretsmanager_secret.platform.arn
}

output "secret_name" {
  description = "Name of the platform secret."
  value       = aws_secretsmanager_secret.platform.name
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the platform secret."
  value       = aws_kms_key.this.arn
}

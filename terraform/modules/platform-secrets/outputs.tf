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

output "observability_secret_arn" {
  description = "ARN of the monitoring stack's secret."
  value       = aws_secretsmanager_secret.observability.arn
}

output "observability_secret_name" {
  description = "Name of the monitoring stack's secret."
  value       = aws_secretsmanager_secret.observability.name
}

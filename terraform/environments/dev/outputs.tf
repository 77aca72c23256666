output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.stack.cluster_name
}

output "kubeconfig_command" {
  description = "Writes a kube context for this cluster; allow it with TRADESTORM_ALLOWED_CONTEXTS."
  value       = module.stack.kubeconfig_command
}

output "ecr_registry" {
  description = "Registry of the images (KubernetesTarget image_registry, kustomize edit set image)."
  value       = module.stack.ecr_registry
}

output "ecr_repository_urls" {
  description = "ECR repository URL by image name."
  value       = module.stack.ecr_repository_urls
}

output "platform_secret_name" {
  description = "Secrets Manager secret to fill before the first deploy."
  value       = module.stack.platform_secret_name
}

output "observability_secret_name" {
  description = "Secrets Manager secret of Grafana's admin password and the Alertmanager receivers."
  value       = module.stack.observability_secret_name
}

output "backups_bucket" {
  description = "S3 bucket of the PostgreSQL dumps."
  value       = module.stack.backups_bucket
}

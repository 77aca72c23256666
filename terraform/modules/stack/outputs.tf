output "name" {
  description = "Name of the environment's resources and kube context (tradestorm-<environment>)."
  value       = local.name
}

output "tags" {
  description = "Tags of every resource (the root's AWS provider applies them as default_tags)."
  value       = local.tags
}

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "API server endpoint (the root's Helm and Kubernetes providers)."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA bundle of the API server (the root's Helm and Kubernetes providers)."
  value       = module.eks.cluster_certificate_authority_data
}

output "kubeconfig_command" {
  description = "Writes a kube context for this cluster; allow it with TRADESTORM_ALLOWED_CONTEXTS."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name} --alias ${local.name} --role-arn <your role>"
}

output "ecr_registry" {
  description = "Registry of the images (KubernetesTarget image_registry, kustomize edit set image)."
  value       = module.ecr.registry
}

output "ecr_repository_urls" {
  description = "ECR repository URL by image name."
  value       = module.ecr.repository_urls
}

output "platform_secret_name" {
  description = "Secrets Manager secret to fill before the first deploy."
  value       = module.platform_secrets.secret_name
}

output "observability_secret_name" {
  description = "Secrets Manager secret of Grafana's admin password and the Alertmanager receivers, to fill before the first full apply."
  value       = module.platform_secrets.observability_secret_name
}

output "backups_bucket" {
  description = "S3 bucket of the PostgreSQL dumps (BACKUP_S3_BUCKET of k8s/overlays/<environment>)."
  value       = module.backups.bucket_name
}

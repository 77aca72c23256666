output "repository_urls" {
  description = "Repository URL by name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "registry" {
  description = "Registry host of this account and region (KubernetesTarget image_registry)."
  value       = split("/", values(aws_ecr_repository.this)[0].repository_url)[0]
}

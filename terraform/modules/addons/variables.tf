variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
}

variable "region" {
  description = "AWS region of the cluster (AWS Load Balancer Controller, External Secrets)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster, for the add-ons' IAM roles (IRSA)."
  type        = string
}

variable "platform_secret_arn" {
  description = "ARN of the Secrets Manager secret the platform reads (modules/platform-secrets)."
  type        = string
}

variable "platform_secret_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the platform secret."
  type        = string
}

variable "observability_secret_arn" {
  description = "ARN of the Secrets Manager secret with Grafana's admin password and the Alertmanager receivers' credentials (modules/platform-secrets)."
  type        = string
}

variable "observability_secret_name" {
  description = "Name of that secret (charts/observability-secrets reads it)."
  type        = string
}

variable "cluster_autoscaler_image_tag" {
  description = "Cluster Autoscaler image tag: its minor version is the cluster's Kubernetes minor version."
  type        = string

  validation {
    condition     = can(regex("^v1\\.[0-9]+\\.[0-9]+$", var.cluster_autoscaler_image_tag))
    error_message = "cluster_autoscaler_image_tag must look like v1.33.0."
  }
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples."
  type        = string
  default     = "15d"
}

variable "prometheus_storage_size" {
  description = "Size of Prometheus' volume."
  type        = string
  default     = "50Gi"
}

variable "istio_mtls_scraping" {
  description = "Give Prometheus an Istio workload certificate to scrape the mesh in STRICT mTLS (k8s/components/mesh)."
  type        = bool
  default     = false
}

variable "enable_loki" {
  description = "Install Loki (single binary) as the target of k8s/components/logging."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}

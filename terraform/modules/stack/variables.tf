variable "environment" {
  description = "Environment name (dev, staging, prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "expected_account_alias" {
  description = "IAM account alias of this environment's account (guard.tf refuses any other account), e.g. tradestorm-dev."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the VPC."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (dev only)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (empty: private endpoint only)."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Instance types of the node group."
  type        = list(string)
}

variable "node_min_size" {
  description = "Minimum nodes."
  type        = number
}

variable "node_max_size" {
  description = "Maximum nodes."
  type        = number
}

variable "node_desired_size" {
  description = "Initial nodes."
  type        = number
}

variable "capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"
}

variable "admin_role_arns" {
  description = "IAM roles with cluster-admin (CI variable TF_VAR_admin_role_arns, never committed)."
  type        = list(string)
  default     = []
}

variable "chaos_operator_role_arns" {
  description = "IAM roles in the Kubernetes group tradestorm:chaos-operators (CI variable)."
  type        = list(string)
  default     = []
}

variable "enable_loki" {
  description = "Install Loki for k8s/components/logging."
  type        = bool
  default     = false
}

variable "istio_mtls_scraping" {
  description = "Prometheus scrapes with an Istio certificate (k8s/components/mesh)."
  type        = bool
  default     = false
}

variable "addon_versions" {
  description = "Exact EKS add-on versions by name (modules/eks); pin them in production tfvars."
  type        = map(string)
  default     = {}
}

variable "cluster_autoscaler_image_tag" {
  description = "Cluster Autoscaler image tag, the same minor version as kubernetes_version (e.g. v1.33.0)."
  type        = string
}

variable "backup_expire_after_days" {
  description = "Days the PostgreSQL dumps are kept in S3 (modules/backups)."
  type        = number
}

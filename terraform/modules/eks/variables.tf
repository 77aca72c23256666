variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the nodes (k8s/ manifests are validated against it)."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster (modules/network)."
  type        = string
}

variable "node_subnet_ids" {
  description = "Private subnets of the nodes and pods."
  type        = list(string)
}

variable "control_plane_subnet_ids" {
  description = "Intra subnets of the control plane network interfaces."
  type        = list(string)
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint; empty makes the endpoint private only."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Instance types of the managed node group (first available wins)."
  type        = list(string)
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
}

variable "node_desired_size" {
  description = "Initial number of nodes (ignored after creation; the autoscaler owns it)."
  type        = number
}

variable "capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.capacity_type)
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "admin_role_arns" {
  description = "IAM roles given cluster-admin through EKS access entries (from CI variables, never committed)."
  type        = list(string)
  default     = []
}

variable "chaos_operator_role_arns" {
  description = "IAM roles mapped to the Kubernetes group tradestorm:chaos-operators (k8s/components/chaos-mesh RBAC)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "addon_versions" {
  description = "Exact EKS add-on versions by add-on name (coredns, kube-proxy, vpc-cni, eks-pod-identity-agent, aws-ebs-csi-driver); unlisted ones follow the newest."
  type        = map(string)
  default     = {}
}

# Only what comes from outside the repository; this environment's settings are
# in main.tf.
variable "deploy_role_arn" {
  description = "IAM role assumed for every AWS call; it selects the account. Set by CI (TF_VAR_deploy_role_arn), never committed."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.deploy_role_arn))
    error_message = "deploy_role_arn must be an IAM role ARN."
  }
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

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (empty: private endpoint only); e.g. the CI runner's egress for one run."
  type        = list(string)
  default     = []
}

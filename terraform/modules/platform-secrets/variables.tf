variable "name" {
  description = "Name of the Secrets Manager secret (k8s/overlays/eks/external-secret.yaml reads it)."
  type        = string
  default     = "tradestorm/platform"
}

variable "observability_name" {
  description = "Name of the Secrets Manager secret of Grafana's admin password and the Alertmanager receivers."
  type        = string
  default     = "tradestorm/observability"
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

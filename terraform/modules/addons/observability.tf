# What the monitoring stack reads from Secrets Manager (secret
# var.observability_secret_name, filled once per account; docs/kubernetes.md):
# Grafana's admin password and the Alertmanager receivers' Slack webhook and
# PagerDuty routing key. External Secrets copies them into namespace monitoring;
# no value is in the tree or in Terraform state.
resource "helm_release" "observability_secrets" {
  name             = "tradestorm-observability-secrets"
  chart            = "${path.module}/charts/observability-secrets"
  namespace        = "monitoring"
  create_namespace = true
  atomic           = true

  values = [yamlencode({
    secretStore = "aws-secrets-manager"
    remoteKey   = var.observability_secret_name
  })]

  depends_on = [helm_release.cluster_secret_store]
}

output "monitoring_namespace" {
  description = "Namespace of Prometheus, Alertmanager and Grafana (k8s/base/network/allow-prometheus.yaml admits it)."
  value       = helm_release.kube_prometheus_stack.namespace
}

output "storage_class" {
  description = "Default StorageClass (k8s/overlays/eks uses it by name)."
  value       = kubernetes_storage_class_v1.gp3.metadata[0].name
}

output "cluster_secret_store" {
  description = "ClusterSecretStore of k8s/overlays/eks/external-secret.yaml."
  value       = "aws-secrets-manager"
}

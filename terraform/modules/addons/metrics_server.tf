# Resource metrics for the HorizontalPodAutoscalers of k8s/base.
resource "helm_release" "metrics_server" {
  name       = "metrics-server"
  repository = "https://kubernetes-sigs.github.io/metrics-server/"
  chart      = "metrics-server"
  version    = "3.12.2"
  namespace  = "kube-system"
  atomic     = true
  timeout    = 600

  values = [yamlencode({
    replicas = 2
    podDisruptionBudget = {
      enabled      = true
      minAvailable = 1
    }
    # HPAs react within one resolution period
    args = ["--metric-resolution=15s"]
  })]
}

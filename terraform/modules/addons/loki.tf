# Optional log store for k8s/components/logging (Fluent Bit -> Loki). A single
# binary on a gp3 volume: right for one trading-platform namespace; switch to
# the chart's simple-scalable mode with S3 for more.
resource "helm_release" "loki" {
  count = var.enable_loki ? 1 : 0

  name             = "loki"
  repository       = "https://grafana.github.io/helm-charts"
  chart            = "loki"
  version          = "6.33.0"
  namespace        = "logging"
  create_namespace = true
  atomic           = true
  timeout          = 900

  values = [yamlencode({
    deploymentMode = "SingleBinary"
    loki = {
      auth_enabled = true
      commonConfig = { replication_factor = 1 }
      storage      = { type = "filesystem" }
      schemaConfig = {
        configs = [{
          from         = "2025-01-01"
          store        = "tsdb"
          object_store = "filesystem"
          schema       = "v13"
          index        = { prefix = "index_", period = "24h" }
        }]
      }
      limits_config = { retention_period = "336h" }
      compactor     = { retention_enabled = true, delete_request_store = "filesystem" }
    }
    singleBinary = {
      replicas    = 1
      persistence = { size = "50Gi", storageClass = kubernetes_storage_class_v1.gp3.metadata[0].name }
    }
    read         = { replicas = 0 }
    write        = { replicas = 0 }
    backend      = { replicas = 0 }
    chunksCache  = { enabled = false }
    resultsCache = { enabled = false }
  })]
}

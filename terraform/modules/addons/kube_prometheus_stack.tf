locals {
  # Istio's documented way to scrape STRICT mTLS workloads from outside the mesh:
  # the sidecar writes its workload certificate to a shared volume and intercepts nothing.
  prometheus_istio_certs = var.istio_mtls_scraping ? {
    podMetadata = {
      labels = { "sidecar.istio.io/inject" = "true" }
      annotations = {
        "traffic.sidecar.istio.io/includeInboundPorts"     = ""
        "traffic.sidecar.istio.io/includeOutboundIPRanges" = ""
        "proxy.istio.io/config"                            = "proxyMetadata:\n  OUTPUT_CERTS: /etc/istio-output-certs\n"
        "sidecar.istio.io/userVolumeMount"                 = "[{\"name\": \"istio-certs\", \"mountPath\": \"/etc/istio-output-certs\"}]"
      }
    }
    volumes      = [{ name = "istio-certs", emptyDir = { medium = "Memory" } }]
    volumeMounts = [{ name = "istio-certs", mountPath = "/etc/prom-certs/" }]
  } : {}

  # Grafana's Loki data source, with Loki (the logs panel of the tradestorm dashboard)
  grafana_datasources = var.enable_loki ? yamldecode(file("${path.module}/grafana-datasources.yaml")) : []
}

resource "helm_release" "kube_prometheus_stack" {
  name             = "kube-prometheus-stack"
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = "75.15.1"
  namespace        = "monitoring"
  create_namespace = true
  atomic           = true
  timeout          = 900

  values = [yamlencode({
    prometheus = {
      prometheusSpec = merge({
        # pick up the ServiceMonitors, PodMonitors and PrometheusRules of k8s/
        # without a "release" label
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        ruleSelectorNilUsesHelmValues           = false
        retention                               = var.prometheus_retention
        replicas                                = 2
        resources = {
          requests = { cpu = "500m", memory = "2Gi" }
          limits   = { memory = "4Gi" }
        }
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              storageClassName = kubernetes_storage_class_v1.gp3.metadata[0].name
              accessModes      = ["ReadWriteOnce"]
              resources        = { requests = { storage = var.prometheus_storage_size } }
            }
          }
        }
      }, local.prometheus_istio_certs)
    }
    # slo/rules/kubernetes.yaml evaluates every 5 s: scrape kube-state-metrics as often
    kube-state-metrics = {
      prometheus = {
        monitor = {
          interval = "5s"
        }
      }
    }
    grafana = {
      # the admin password from Secrets Manager (charts/observability-secrets), not the chart's default
      admin = {
        existingSecret = "grafana-admin"
        userKey        = "admin-user"
        passwordKey    = "admin-password"
      }
      additionalDataSources = local.grafana_datasources
      sidecar = {
        dashboards = {
          enabled          = true
          label            = "grafana_dashboard"
          labelValue       = "1"
          searchNamespace  = "ALL"
          folderAnnotation = "grafana_folder"
          provider = {
            foldersFromFilesStructure = true
          }
        }
      }
    }
    alertmanager = {
      # routes and receivers: alertmanager.yaml (credentials from files of the Secret below)
      config = yamldecode(file("${path.module}/alertmanager.yaml"))
      alertmanagerSpec = {
        replicas = 2
        secrets  = ["alertmanager-receivers"]
      }
    }
  })]

  # the Secrets grafana-admin and alertmanager-receivers must exist first
  depends_on = [helm_release.observability_secrets]
}

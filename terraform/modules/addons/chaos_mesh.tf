# Chaos Mesh for network/stress faults of the Kubernetes target. It injects only
# into namespaces annotated chaos-mesh.org/inject=enabled
# (k8s/components/chaos-mesh), never into the rest of the cluster.
resource "helm_release" "chaos_mesh" {
  name             = "chaos-mesh"
  repository       = "https://charts.chaos-mesh.org"
  chart            = "chaos-mesh"
  version          = "2.7.2"
  namespace        = "chaos-mesh"
  create_namespace = true
  atomic           = true
  timeout          = 900

  values = [yamlencode({
    chaosDaemon = {
      runtime    = "containerd"
      socketPath = "/run/containerd/containerd.sock"
    }
    controllerManager = {
      enableFilterNamespace = true
      replicaCount          = 2
    }
    dashboard = {
      create       = true
      securityMode = true
    }
  })]
}

# Nodes that follow the HPAs: Cluster Autoscaler adds a node when a pod is
# Pending for want of room (hpa-scale-out, node-drain) and removes idle ones,
# within the managed node group's min/max (modules/eks; EKS tags its Auto Scaling
# group for auto-discovery). Its IAM role through IRSA, scoped to this cluster's
# groups. tests/k8s/test_environments.py checks that every environment's HPA
# maxima fit the node group at its maximum size.
module "cluster_autoscaler_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "5.59.0"

  role_name                        = "${var.cluster_name}-cluster-autoscaler"
  attach_cluster_autoscaler_policy = true
  cluster_autoscaler_cluster_names = [var.cluster_name]

  oidc_providers = {
    main = {
      provider_arn               = var.oidc_provider_arn
      namespace_service_accounts = ["kube-system:cluster-autoscaler"]
    }
  }

  tags = var.tags
}

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = "9.46.6"
  namespace  = "kube-system"
  atomic     = true
  timeout    = 600

  values = [yamlencode({
    cloudProvider = "aws"
    awsRegion     = var.region
    autoDiscovery = {
      clusterName = var.cluster_name
    }
    # the autoscaler's minor version follows the cluster's
    image = {
      tag = var.cluster_autoscaler_image_tag
    }
    replicaCount = 2
    rbac = {
      serviceAccount = {
        create = true
        name   = "cluster-autoscaler"
        annotations = {
          "eks.amazonaws.com/role-arn" = module.cluster_autoscaler_irsa.iam_role_arn
        }
      }
    }
    extraArgs = {
      # instance types of the group differ (m6i/m5): balance them over zones
      balance-similar-node-groups = true
      expander                    = "least-waste"
      # PostgreSQL's and the backups' volumes are on EBS, not on the node
      skip-nodes-with-local-storage = false
      scale-down-unneeded-time      = "10m"
      scale-down-delay-after-add    = "10m"
    }
    resources = {
      requests = { cpu = "100m", memory = "300Mi" }
      limits   = { memory = "600Mi" }
    }
    podDisruptionBudget = { maxUnavailable = 1 }
  })]
}

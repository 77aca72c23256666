module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "20.37.2"

  cluster_name    = var.cluster_name
  cluster_version = var.kubernetes_version

  vpc_id                   = var.vpc_id
  subnet_ids               = var.node_subnet_ids
  control_plane_subnet_ids = var.control_plane_subnet_ids

  cluster_endpoint_private_access      = true
  cluster_endpoint_public_access       = length(var.endpoint_public_access_cidrs) > 0
  cluster_endpoint_public_access_cidrs = var.endpoint_public_access_cidrs

  # Access entries only (no aws-auth ConfigMap); the identity running
  # terraform is not made admin implicitly: admins are listed explicitly.
  authentication_mode                      = "API"
  enable_cluster_creator_admin_permissions = false
  access_entries                           = local.access_entries

  # Secrets envelope-encrypted with a KMS key the module creates.
  cluster_enabled_log_types = ["api", "audit", "authenticator"]
  enable_irsa               = true

  # EKS add-ons: pinned per environment through var.addon_versions (e.g.
  # { coredns = "v1.12.1-eksbuild.2" }, from `aws eks describe-addon-versions`);
  # an add-on not listed follows the newest version for the cluster's
  # Kubernetes version, resolved at plan time (shown in the plan before apply).
  cluster_addons = {
    coredns = {
      addon_version = lookup(var.addon_versions, "coredns", null)
      most_recent   = !contains(keys(var.addon_versions), "coredns")
    }
    kube-proxy = {
      addon_version = lookup(var.addon_versions, "kube-proxy", null)
      most_recent   = !contains(keys(var.addon_versions), "kube-proxy")
    }
    vpc-cni = {
      addon_version  = lookup(var.addon_versions, "vpc-cni", null)
      most_recent    = !contains(keys(var.addon_versions), "vpc-cni")
      before_compute = true
      # NetworkPolicies (k8s/base/network) are only enforced with this on.
      configuration_values = jsonencode({
        enableNetworkPolicy = "true"
        env = {
          ENABLE_PREFIX_DELEGATION = "true"
        }
      })
    }
    eks-pod-identity-agent = {
      addon_version  = lookup(var.addon_versions, "eks-pod-identity-agent", null)
      most_recent    = !contains(keys(var.addon_versions), "eks-pod-identity-agent")
      before_compute = true
    }
    aws-ebs-csi-driver = {
      addon_version            = lookup(var.addon_versions, "aws-ebs-csi-driver", null)
      most_recent              = !contains(keys(var.addon_versions), "aws-ebs-csi-driver")
      service_account_role_arn = module.ebs_csi_irsa.iam_role_arn
    }
  }

  eks_managed_node_groups = {
    default = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.node_instance_types
      capacity_type  = var.capacity_type

      min_size     = var.node_min_size
      max_size     = var.node_max_size
      desired_size = var.node_desired_size

      # IMDSv2 only, and pods cannot reach the node's instance role.
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }

      block_device_mappings = {
        xvda = {
          device_name = "/dev/xvda"
          ebs = {
            volume_size           = 80
            volume_type           = "gp3"
            encrypted             = true
            delete_on_termination = true
          }
        }
      }

      labels = {
        "tradestorm.io/pool" = "default"
      }

      update_config = {
        max_unavailable_percentage = 33
      }
    }
  }

  tags = var.tags
}

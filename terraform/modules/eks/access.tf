locals {
  admin_entries = {
    for arn in var.admin_role_arns : "admin-${substr(sha1(arn), 0, 8)}" => {
      principal_arn = arn
      policy_associations = {
        admin = {
          policy_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = {
            type = "cluster"
          }
        }
      }
    }
  }

  # Chaos operators get no EKS access policy: only the Kubernetes group whose
  # RBAC k8s/components/chaos-mesh defines (namespace tradestorm + node drain).
  chaos_entries = {
    for arn in var.chaos_operator_role_arns : "chaos-${substr(sha1(arn), 0, 8)}" => {
      principal_arn     = arn
      kubernetes_groups = ["tradestorm:chaos-operators"]
    }
  }

  access_entries = merge(local.admin_entries, local.chaos_entries)
}

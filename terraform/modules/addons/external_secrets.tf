# External Secrets Operator: k8s/overlays/eks/external-secret.yaml turns the
# Secrets Manager secret "tradestorm/platform" into the Secret tradeplat-secrets.
module "external_secrets_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "5.59.0"

  role_name                             = "${var.cluster_name}-external-secrets"
  attach_external_secrets_policy        = true
  external_secrets_secrets_manager_arns = [var.platform_secret_arn, var.observability_secret_arn]
  external_secrets_ssm_parameter_arns   = []
  external_secrets_kms_key_arns         = [var.platform_secret_kms_key_arn]

  oidc_providers = {
    main = {
      provider_arn               = var.oidc_provider_arn
      namespace_service_accounts = ["external-secrets:external-secrets"]
    }
  }

  tags = var.tags
}

resource "helm_release" "external_secrets" {
  name             = "external-secrets"
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = "0.19.2"
  namespace        = "external-secrets"
  create_namespace = true
  atomic           = true
  timeout          = 600

  values = [yamlencode({
    installCRDs = true
    serviceAccount = {
      name = "external-secrets"
      annotations = {
        "eks.amazonaws.com/role-arn" = module.external_secrets_irsa.iam_role_arn
      }
    }
  })]
}

# The ClusterSecretStore "aws-secrets-manager" (region of this environment),
# from a local chart so it is applied after the CRDs exist without the
# kubernetes_manifest plan-time CRD problem.
resource "helm_release" "cluster_secret_store" {
  name      = "tradestorm-cluster-secret-store"
  chart     = "${path.module}/charts/cluster-secret-store"
  namespace = "external-secrets"
  atomic    = true

  values = [yamlencode({
    name   = "aws-secrets-manager"
    region = var.region
    # the platform's namespace, and the monitoring stack's (observability.tf)
    namespaces = ["tradestorm", "monitoring"]
    serviceAccount = {
      name      = "external-secrets"
      namespace = "external-secrets"
    }
  })]

  depends_on = [helm_release.external_secrets]
}

# One environment's stack: network, EKS, add-ons, ECR and the platform secret,
# wired together. Every environment root (environments/*) calls it once with its
# own settings. It configures no provider (a module that does cannot be called
# with for_each, count or depends_on): it inherits the root's, which assume the
# environment's deploy role.
locals {
  name = "tradestorm-${var.environment}"
  tags = {
    Project     = "tradestorm"
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

module "network" {
  source = "../network"

  name               = local.name
  cidr               = var.vpc_cidr
  single_nat_gateway = var.single_nat_gateway
  tags               = local.tags
}

module "eks" {
  source = "../eks"

  cluster_name                 = local.name
  kubernetes_version           = var.kubernetes_version
  vpc_id                       = module.network.vpc_id
  node_subnet_ids              = module.network.private_subnet_ids
  control_plane_subnet_ids     = module.network.intra_subnet_ids
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  node_instance_types          = var.node_instance_types
  node_min_size                = var.node_min_size
  node_max_size                = var.node_max_size
  node_desired_size            = var.node_desired_size
  capacity_type                = var.capacity_type
  admin_role_arns              = var.admin_role_arns
  chaos_operator_role_arns     = var.chaos_operator_role_arns
  addon_versions               = var.addon_versions
  tags                         = local.tags

  depends_on = [terraform_data.account_guard]
}

module "ecr" {
  source = "../ecr"

  tags = local.tags

  depends_on = [terraform_data.account_guard]
}

module "platform_secrets" {
  source = "../platform-secrets"

  tags = local.tags

  depends_on = [terraform_data.account_guard]
}

module "backups" {
  source = "../backups"

  bucket_name       = "${var.expected_account_alias}-postgres-backups"
  cluster_name      = module.eks.cluster_name
  expire_after_days = var.backup_expire_after_days
  tags              = local.tags
}

module "addons" {
  source = "../addons"

  cluster_name                 = module.eks.cluster_name
  region                       = var.region
  vpc_id                       = module.network.vpc_id
  oidc_provider_arn            = module.eks.oidc_provider_arn
  platform_secret_arn          = module.platform_secrets.secret_arn
  platform_secret_kms_key_arn  = module.platform_secrets.kms_key_arn
  observability_secret_arn     = module.platform_secrets.observability_secret_arn
  observability_secret_name    = module.platform_secrets.observability_secret_name
  cluster_autoscaler_image_tag = var.cluster_autoscaler_image_tag
  enable_loki                  = var.enable_loki
  istio_mtls_scraping          = var.istio_mtls_scraping
  tags                         = local.tags

  # the charts need schedulable nodes and the EBS CSI driver, not just an endpoint
  depends_on = [module.eks]
}

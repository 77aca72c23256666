# This environment's settings, the only file that differs between the roots:
# everything else is in ../../modules/stack.
# staging: production-shaped (NAT per zone, on-demand), smaller.
locals {
  region = "eu-west-1"
}

module "stack" {
  source = "../../modules/stack"

  environment            = "staging"
  region                 = local.region
  expected_account_alias = "tradestorm-staging"

  vpc_cidr           = "10.41.0.0/16"
  single_nat_gateway = false

  kubernetes_version           = "1.33"
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  node_instance_types          = ["m6i.xlarge", "m5.xlarge"]
  node_min_size                = 3
  node_max_size                = 9
  node_desired_size            = 3
  capacity_type                = "ON_DEMAND"

  cluster_autoscaler_image_tag = "v1.33.0"

  enable_loki              = true
  backup_expire_after_days = 90

  admin_role_arns          = var.admin_role_arns
  chaos_operator_role_arns = var.chaos_operator_role_arns
}

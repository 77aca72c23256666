# This environment's settings, the only file that differs between the roots:
# everything else is in ../../modules/stack.
# prod: NAT per zone, on-demand nodes, private API endpoint only.
locals {
  region = "eu-west-1"
}

module "stack" {
  source = "../../modules/stack"

  environment            = "prod"
  region                 = local.region
  expected_account_alias = "tradestorm-prod"

  vpc_cidr           = "10.42.0.0/16"
  single_nat_gateway = false

  kubernetes_version           = "1.33"
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  node_instance_types          = ["m6i.2xlarge", "m5.2xlarge"]
  node_min_size                = 6
  node_max_size                = 18
  node_desired_size            = 6
  capacity_type                = "ON_DEMAND"

  cluster_autoscaler_image_tag = "v1.33.0"

  enable_loki              = true
  backup_expire_after_days = 400

  admin_role_arns          = var.admin_role_arns
  chaos_operator_role_arns = var.chaos_operator_role_arns
}

# This environment's settings, the only file that differs between the roots:
# everything else is in ../../modules/stack.
# dev: one small, cheap cluster. No account id, role or CIDR of a person here:
# deploy_role_arn, admin_role_arns and chaos_operator_role_arns come from CI.
locals {
  region = "eu-west-1"
}

module "stack" {
  source = "../../modules/stack"

  environment            = "dev"
  region                 = local.region
  expected_account_alias = "tradestorm-dev"

  vpc_cidr           = "10.40.0.0/16"
  single_nat_gateway = true

  kubernetes_version           = "1.33"
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  node_instance_types          = ["m6i.large", "m5.large"]
  node_min_size                = 3
  node_max_size                = 8
  node_desired_size            = 3
  capacity_type                = "SPOT"

  cluster_autoscaler_image_tag = "v1.33.0"

  enable_loki              = true
  backup_expire_after_days = 35

  admin_role_arns          = var.admin_role_arns
  chaos_operator_role_arns = var.chaos_operator_role_arns
}

# dev: one small, cheap cluster. No account id, role or CIDR of a person here:
# deploy_role_arn, admin_role_arns and chaos_operator_role_arns come from CI.
environment            = "dev"
region                 = "eu-west-1"
expected_account_alias = "tradestorm-dev"

vpc_cidr           = "10.40.0.0/16"
single_nat_gateway = true

kubernetes_version  = "1.33"
node_instance_types = ["m6i.large", "m5.large"]
node_min_size       = 3
node_max_size       = 6
node_desired_size   = 3
capacity_type       = "SPOT"

enable_loki = true

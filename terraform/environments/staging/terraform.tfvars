# staging: production-shaped (NAT per zone, on-demand), smaller.
environment            = "staging"
region                 = "eu-west-1"
expected_account_alias = "tradestorm-staging"

vpc_cidr           = "10.41.0.0/16"
single_nat_gateway = false

kubernetes_version  = "1.33"
node_instance_types = ["m6i.xlarge", "m5.xlarge"]
node_min_size       = 3
node_max_size       = 9
node_desired_size   = 3
capacity_type       = "ON_DEMAND"

enable_loki = true

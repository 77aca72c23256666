output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "vpc_cidr_block" {
  description = "CIDR of the VPC."
  value       = module.vpc.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "Subnets of the worker nodes and pods."
  value       = module.vpc.private_subnets
}

output "intra_subnet_ids" {
  description = "Subnets of the EKS control plane network interfaces."
  value       = module.vpc.intra_subnets
}

output "azs" {
  description = "Availability zones in use."
  value       = local.azs
}

variable "name" {
  description = "Name of the VPC and prefix of its resources (also the EKS cluster name, for subnet discovery tags)."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.cidr))
    error_message = "cidr must be an IPv4 CIDR such as 10.40.0.0/16."
  }
}

variable "az_count" {
  description = "Number of availability zones (subnets of each kind per zone)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 and 4."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (cheaper, not zone-redundant): dev only."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# Every AWS call runs as the environment's deploy role: the account is chosen
# by var.deploy_role_arn alone (CI sets TF_VAR_deploy_role_arn per environment).
provider "aws" {
  region = local.region

  assume_role {
    role_arn     = var.deploy_role_arn
    session_name = module.stack.name
  }

  default_tags {
    tags = module.stack.tags
  }
}

# Helm and Kubernetes reach the cluster of the stack, with a token obtained as
# the same deploy role.
locals {
  get_token = ["eks", "get-token", "--cluster-name", module.stack.cluster_name, "--region", local.region, "--role-arn", var.deploy_role_arn]
}

provider "kubernetes" {
  host                   = module.stack.cluster_endpoint
  cluster_ca_certificate = base64decode(module.stack.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = local.get_token
  }
}

provider "helm" {
  kubernetes {
    host                   = module.stack.cluster_endpoint
    cluster_ca_certificate = base64decode(module.stack.cluster_certificate_authority_data)

    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = local.get_token
    }
  }
}

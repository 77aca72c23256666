# Every AWS call runs as the environment's deploy role: the account is chosen
# by var.deploy_role_arn alone (CI sets TF_VAR_deploy_role_arn per environment).
provider "aws" {
  region = var.region

  assume_role {
    role_arn     = var.deploy_role_arn
    session_name = "tradestorm-${var.environment}"
  }

  default_tags {
    tags = local.tags
  }
}

# Helm and Kubernetes reach the cluster created here, with a token obtained as
# the same deploy role.
provider "kubernetes" {
  host                   = module.eks.cluster_endpoint
  cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region, "--role-arn", var.deploy_role_arn]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region, "--role-arn", var.deploy_role_arn]
    }
  }
}

terraform {
  # 1.10+: S3 native state locking (use_lockfile)
  required_version = ">= 1.10, < 2.0"

  # Exact versions: a root module decides what runs (modules only bound ranges).
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "2.17.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
    # used by terraform-aws-modules/eks; pinned here so they do not float
    tls = {
      source  = "hashicorp/tls"
      version = "4.1.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
    cloudinit = {
      source  = "hashicorp/cloudinit"
      version = "2.3.7"
    }
    null = {
      source  = "hashicorp/null"
      version = "3.2.4"
    }
  }
}

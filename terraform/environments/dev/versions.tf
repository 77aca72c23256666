# What only a root can hold: the state and the exact provider versions (modules
# only bound ranges). State in S3 with S3-native locking (a lock object next to
# the state; Terraform >= 1.10, no DynamoDB table). Bucket, region and the role
# to reach them are given at init, so no account-specific name is committed:
#   terraform init -backend-config="bucket=$TF_STATE_BUCKET" \
#     -backend-config="region=$AWS_REGION" \
#     -backend-config="assume_role={role_arn=\"$TF_VAR_deploy_role_arn\"}"
terraform {
  required_version = ">= 1.10, < 2.0"

  backend "s3" {
    key          = "tradestorm/eks/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }

  # tls, time, cloudinit and null: used by terraform-aws-modules/eks
  required_providers {
    aws        = { source = "hashicorp/aws", version = "5.100.0" }
    helm       = { source = "hashicorp/helm", version = "2.17.0" }
    kubernetes = { source = "hashicorp/kubernetes", version = "2.38.0" }
    tls        = { source = "hashicorp/tls", version = "4.1.0" }
    time       = { source = "hashicorp/time", version = "0.13.1" }
    cloudinit  = { source = "hashicorp/cloudinit", version = "2.3.7" }
    null       = { source = "hashicorp/null", version = "3.2.4" }
  }
}

# State in S3 with S3-native locking (a lock object next to the state; no
# DynamoDB table). Bucket, region and the role to reach them are given at init
# so no account-specific name is committed:
#   terraform init -backend-config="bucket=$TF_STATE_BUCKET" \
#     -backend-config="region=$AWS_REGION" \
#     -backend-config="assume_role={role_arn=\"$TF_VAR_deploy_role_arn\"}"
terraform {
  backend "s3" {
    key          = "tradestorm/eks/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

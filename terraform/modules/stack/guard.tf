# "Different AWS accounts without human error": the deploy role decides the
# account, and this check refuses to go on when that account is not the one
# this environment belongs to (its IAM account alias, e.g. tradestorm-prod).
# Nothing here names an account id.
data "aws_caller_identity" "current" {}

data "aws_iam_account_alias" "current" {}

resource "terraform_data" "account_guard" {
  input = data.aws_caller_identity.current.account_id

  lifecycle {
    precondition {
      condition     = data.aws_iam_account_alias.current.account_alias == var.expected_account_alias
      error_message = "The deploy role leads to account alias '${data.aws_iam_account_alias.current.account_alias}', but environment '${var.environment}' expects '${var.expected_account_alias}'. Check TF_VAR_deploy_role_arn."
    }
  }
}

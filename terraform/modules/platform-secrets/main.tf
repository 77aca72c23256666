# The secret container only. Its value (JSON with POSTGRES_PASSWORD and
# TRADEPLAT_ADMIN_KEY) is written once by an operator with
# `aws secretsmanager put-secret-value` (docs/kubernetes.md, "Secrets"), so it
# never passes through Terraform state or version control.
data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Explicit key policy: the account (and through it, IAM policies such as the
# External Secrets role's kms:Decrypt) administers and uses the key; nobody
# outside the account can. The account id is read, never written.
data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministersAndDelegatesToIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "tradestorm platform secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/tradestorm-platform-secrets"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_secretsmanager_secret" "platform" {
  name                    = var.name
  description             = "tradestorm platform: POSTGRES_PASSWORD and TRADEPLAT_ADMIN_KEY (JSON)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

# The monitoring stack's credentials (JSON with GRAFANA_ADMIN_PASSWORD,
# SLACK_WEBHOOK_URL and PAGERDUTY_ROUTING_KEY), filled the same way by an operator;
# External Secrets copies them into namespace monitoring (modules/addons/observability.tf).
resource "aws_secretsmanager_secret" "observability" {
  name                    = var.observability_name
  description             = "tradestorm monitoring: GRAFANA_ADMIN_PASSWORD, SLACK_WEBHOOK_URL, PAGERDUTY_ROUTING_KEY (JSON)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

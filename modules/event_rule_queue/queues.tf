# Policies are inline rather than aws_sqs_queue_policy resources: every separate SQS
# attribute write costs the provider ~25 s of propagation checks.
resource "aws_sqs_queue" "this" {
  name                      = local.queue_name
  message_retention_seconds = var.message_retention_seconds
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.queue["target"].json
}

# Dead-letter queue of the rule target (EventBridge writes here after retries run
# out or on permanent errors), not an SQS redrive queue.
resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.queue["dlq"].json
}

data "aws_iam_policy_document" "queue" {
  for_each = local.queue_arns

  statement {
    sid       = "AllowRuleToSendMessage"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [each.value]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.rule_arn]
    }
  }

  # EventBridge reaches SQS over HTTPS, so this denies nobody legitimate.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

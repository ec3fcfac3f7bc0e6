data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  name_prefix    = "${var.username}-${var.name}"
  queue_name     = "${local.name_prefix}-pipe-source"
  dlq_name       = "${local.queue_name}-dlq"
  pipe_name      = "${local.name_prefix}-pipe"
  role_name      = local.pipe_name
  log_group_name = "/${var.username}/pipes/${local.pipe_name}"

  # ARNs are built from names so that policies neither wait for nor cycle with the
  # resources they protect (a queue's own policy cannot reference the queue's ARN).
  queue_arn     = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"
  dlq_arn       = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  pipe_arn      = "arn:${local.partition}:pipes:${local.region}:${local.account_id}:pipe/${local.pipe_name}"
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  # Raw string, never jsonencode: jsonencode would quote the placeholder and escape
  # `<`/`>`, so `<$.body>` would stop being a placeholder. A plain string rather than
  # the exercise's heredoc because whether the heredoc's trailing newline causes a
  # perpetual diff is UNCONFIRMED; this form is exactly the template with no newline.
  input_template = "{ \"event\": <$.body> }"

  # Expiry of a message moved to a DLQ counts from its original enqueue time, so the
  # DLQ keeps messages for the SQS maximum (14 days).
  dlq_message_retention_seconds = 1209600
}

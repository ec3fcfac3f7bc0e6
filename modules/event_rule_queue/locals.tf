data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  queue_name = "${var.username}-${var.name}"
  dlq_name   = "${local.queue_name}-dlq"
  rule_name  = local.queue_name

  # Rules on a custom bus have the bus name in their ARN; the default-bus form
  # (rule/<rule>) would never match aws:SourceArn. Built as a string so the queues
  # do not wait for the rule.
  rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.event_bus_name}/${local.rule_name}"

  # Both queues receive from the rule: the target queue on success, the DLQ when
  # delivery to the target fails. Each needs its own policy.
  queue_arns = {
    target = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"
    dlq    = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  }
}

resource "aws_iam_role" "this" {
  name               = local.role_name
  description        = "Lets EventBridge pipe ${local.pipe_name} read its buffer queue and put events on the bus."
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "PipesAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["pipes.amazonaws.com"]
    }

    # Confused-deputy guard: only this pipe in this account may assume the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.pipe_arn]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = local.role_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.pipe.json
}

data "aws_iam_policy_document" "pipe" {
  statement {
    sid       = "ReadSourceQueue"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [local.queue_arn]
  }

  statement {
    sid       = "PutEventsOnBus"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]
  }

  # Which principal writes pipe logs to CloudWatch is UNCONFIRMED in the AWS docs.
  # Least-privilege reading: the pipe role writes streams of its own log group only.
  statement {
    sid       = "WritePipeLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }
}

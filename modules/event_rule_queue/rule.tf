resource "aws_cloudwatch_event_rule" "this" {
  name           = local.rule_name
  description    = "Routes matching events from ${var.event_bus_name} to SQS queue ${local.queue_name}."
  event_bus_name = var.event_bus_name
  event_pattern  = var.event_pattern

  lifecycle {
    postcondition {
      condition     = self.arn == local.rule_arn
      error_message = "Rule ARN ${self.arn} differs from ${local.rule_arn}, which the queue policies are scoped to."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = "sqs-queue"
  arn            = aws_sqs_queue.this.arn

  retry_policy {
    maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

# A message in the DLQ is an event EventBridge could not deliver to the queue.
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${local.dlq_name}-not-empty"
  alarm_description   = "Events rule ${local.rule_name} could not deliver to ${local.queue_name} are waiting in ${local.dlq_name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
}

# FailedInvocations counts permanent delivery failures (e.g. a queue policy that
# denies EventBridge); on a custom bus the metric carries EventBusName + RuleName.
resource "aws_cloudwatch_metric_alarm" "failed_invocations" {
  alarm_name          = "${local.rule_name}-failed-invocations"
  alarm_description   = "Events rule ${local.rule_name} failed to deliver to its target."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { EventBusName = var.event_bus_name, RuleName = aws_cloudwatch_event_rule.this.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
}

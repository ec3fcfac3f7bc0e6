output "queue_name" {
  description = "Name of the queue the rule delivers matching events to."
  value       = aws_sqs_queue.this.name
}

output "queue_url" {
  description = "URL of the queue the rule delivers matching events to."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the queue the rule delivers matching events to."
  value       = aws_sqs_queue.this.arn
}

output "dlq_name" {
  description = "Name of the rule target's dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the rule target's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the rule target's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "rule_name" {
  description = "Name of the EventBridge rule."
  value       = aws_cloudwatch_event_rule.this.name
}

output "rule_arn" {
  description = "ARN of the EventBridge rule (custom-bus form rule/<bus>/<rule>)."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "rule_event_pattern" {
  description = "Event pattern the rule matches."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "alarm_names" {
  description = "Names of the DLQ-depth and FailedInvocations alarms."
  value       = [aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name, aws_cloudwatch_metric_alarm.failed_invocations.alarm_name]
}

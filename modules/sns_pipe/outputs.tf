output "queue_name" {
  description = "Name of the buffer queue subscribed to the topic (the pipe source)."
  value       = aws_sqs_queue.this.name
}

output "queue_url" {
  description = "URL of the buffer queue."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the buffer queue."
  value       = aws_sqs_queue.this.arn
}

output "dlq_name" {
  description = "Name of the buffer queue's dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the buffer queue's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the buffer queue's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "subscription_arn" {
  description = "ARN of the SNS subscription that feeds the buffer queue."
  value       = aws_sns_topic_subscription.this.arn
}

output "pipe_name" {
  description = "Name of the EventBridge pipe."
  value       = aws_pipes_pipe.this.name
}

output "pipe_arn" {
  description = "ARN of the EventBridge pipe."
  value       = aws_pipes_pipe.this.arn
}

output "role_arn" {
  description = "ARN of the IAM role the pipe assumes."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the IAM role the pipe assumes."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "CloudWatch log group receiving the pipe's execution logs."
  value       = aws_cloudwatch_log_group.this.name
}

output "dlq_alarm_name" {
  description = "Name of the alarm on the buffer DLQ depth."
  value       = aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name
}

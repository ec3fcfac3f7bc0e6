output "username" {
  description = "Prefix of every resource name."
  value       = var.username
}

output "region" {
  description = "Region the stack is deployed in."
  value       = data.aws_region.current.name
}

output "account_id" {
  description = "AWS account the stack is deployed in (from the caller identity)."
  value       = data.aws_caller_identity.current.account_id
}

output "event_bus_name" {
  description = "Name of the provided event bus the pipes write to."
  value       = data.aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the provided event bus the pipes write to."
  value       = data.aws_cloudwatch_event_bus.this.arn
}

output "topic_arns" {
  description = "ARNs of the provided SNS topics, keyed by feed."
  value       = { for key, topic in data.aws_sns_topic.feed : key => topic.arn }
}

output "buffer_queue_names" {
  description = "Names of the SQS queues subscribed to the topics (pipe sources), keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.queue_name }
}

output "buffer_queue_urls" {
  description = "URLs of the SQS queues subscribed to the topics (pipe sources), keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.queue_url }
}

output "buffer_queue_arns" {
  description = "ARNs of the SQS queues subscribed to the topics (pipe sources), keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.queue_arn }
}

output "buffer_dlq_names" {
  description = "Names of the buffer queues' dead-letter queues, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.dlq_name }
}

output "buffer_dlq_urls" {
  description = "URLs of the buffer queues' dead-letter queues, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.dlq_url }
}

output "buffer_dlq_arns" {
  description = "ARNs of the buffer queues' dead-letter queues, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.dlq_arn }
}

output "subscription_arns" {
  description = "ARNs of the SNS subscriptions feeding the buffer queues, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.subscription_arn }
}

output "pipe_names" {
  description = "Names of the EventBridge pipes, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.pipe_name }
}

output "pipe_arns" {
  description = "ARNs of the EventBridge pipes, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.pipe_arn }
}

output "pipe_role_arns" {
  description = "ARNs of the IAM roles the pipes assume, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.role_arn }
}

output "pipe_log_group_names" {
  description = "CloudWatch log groups receiving the pipes' execution logs, keyed by feed."
  value       = { for key, feed in module.sns_pipe : key => feed.log_group_name }
}

output "purchase_queue_name" {
  description = "Name of the queue the rule delivers matching events to."
  value       = module.event_rule_queue.queue_name
}

output "purchase_queue_url" {
  description = "URL of the queue the rule delivers matching events to."
  value       = module.event_rule_queue.queue_url
}

output "purchase_queue_arn" {
  description = "ARN of the queue the rule delivers matching events to."
  value       = module.event_rule_queue.queue_arn
}

output "purchase_dlq_name" {
  description = "Name of the rule target's dead-letter queue."
  value       = module.event_rule_queue.dlq_name
}

output "purchase_dlq_url" {
  description = "URL of the rule target's dead-letter queue."
  value       = module.event_rule_queue.dlq_url
}

output "purchase_dlq_arn" {
  description = "ARN of the rule target's dead-letter queue."
  value       = module.event_rule_queue.dlq_arn
}

output "rule_name" {
  description = "Name of the EventBridge rule routing feed events to the purchase queue."
  value       = module.event_rule_queue.rule_name
}

output "rule_arn" {
  description = "ARN of the EventBridge rule (custom-bus form rule/<bus>/<rule>)."
  value       = module.event_rule_queue.rule_arn
}

output "rule_event_pattern" {
  description = "Event pattern of the rule, built from the feeds' sources."
  value       = module.event_rule_queue.rule_event_pattern
}

output "alarm_names" {
  description = "Names of all CloudWatch alarms (buffer DLQs, purchase DLQ, rule FailedInvocations)."
  value       = concat([for feed in values(module.sns_pipe) : feed.dlq_alarm_name], module.event_rule_queue.alarm_names)
}

output "feed_events" {
  description = "Per feed, the source and detail-type its pipe gives events on the bus (what the rule matches)."
  value       = { for key, feed in var.feeds : key => { source = feed.source, detail_type = feed.detail_type } }
}

# Unit tests of modules/event_rule_queue in plan mode (mock provider). The rendered
# queue policies are checked in policies.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  username       = "demo"
  event_bus_name = "demo-domain-events"
  event_pattern  = "{\"source\":[\"basket_events\",\"checkout_events\"]}"
}

run "rule_routes_to_queue_with_dlq" {
  command = plan

  module {
    source = "./modules/event_rule_queue"
  }

  override_resource {
    target          = aws_sqs_queue.this
    override_during = plan
    values = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:demo-purchase-events"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-purchase-events"
    }
  }

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:demo-purchase-events-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-purchase-events-dlq"
    }
  }

  override_resource {
    target          = aws_cloudwatch_event_rule.this
    override_during = plan
    values = {
      arn = "arn:aws:events:eu-west-1:123456789012:rule/demo-domain-events/demo-purchase-events"
    }
  }

  assert {
    condition     = aws_sqs_queue.this.name == "demo-purchase-events" && aws_sqs_queue.dlq.name == "demo-purchase-events-dlq"
    error_message = "Queues are ${aws_sqs_queue.this.name} and ${aws_sqs_queue.dlq.name}, expected demo-purchase-events and demo-purchase-events-dlq."
  }

  assert {
    condition     = aws_sqs_queue.this.sqs_managed_sse_enabled && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "Both queues must use SSE-SQS (EventBridge cannot use the AWS-managed KMS key)."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.name == "demo-purchase-events" && aws_cloudwatch_event_rule.this.event_bus_name == "demo-domain-events"
    error_message = "Rule is ${aws_cloudwatch_event_rule.this.name} on ${aws_cloudwatch_event_rule.this.event_bus_name}, expected demo-purchase-events on demo-domain-events."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.event_pattern == "{\"source\":[\"basket_events\",\"checkout_events\"]}"
    error_message = "Rule pattern is ${aws_cloudwatch_event_rule.this.event_pattern}."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == aws_sqs_queue.this.arn && aws_cloudwatch_event_target.this.event_bus_name == "demo-domain-events" && aws_cloudwatch_event_target.this.rule == "demo-purchase-events"
    error_message = "The rule target must be the purchase queue, on the custom bus."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == aws_sqs_queue.dlq.arn
    error_message = "The rule target's dead_letter_config must be the purchase DLQ."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.retry_policy[0].maximum_event_age_in_seconds == 3600 && aws_cloudwatch_event_target.this.retry_policy[0].maximum_retry_attempts == 185
    error_message = "Default retry policy must be 3600 s / 185 attempts."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name == "demo-purchase-events-dlq-not-empty" && aws_cloudwatch_metric_alarm.dlq_not_empty.dimensions["QueueName"] == "demo-purchase-events-dlq"
    error_message = "The DLQ alarm must be demo-purchase-events-dlq-not-empty on the purchase DLQ."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.failed_invocations.alarm_name == "demo-purchase-events-failed-invocations" &&
      aws_cloudwatch_metric_alarm.failed_invocations.namespace == "AWS/Events" &&
      aws_cloudwatch_metric_alarm.failed_invocations.metric_name == "FailedInvocations" &&
      aws_cloudwatch_metric_alarm.failed_invocations.statistic == "Sum" &&
      jsonencode(aws_cloudwatch_metric_alarm.failed_invocations.dimensions) == jsonencode({ EventBusName = "demo-domain-events", RuleName = "demo-purchase-events" })
    )
    error_message = "The FailedInvocations alarm must sum AWS/Events FailedInvocations for this rule on this bus."
  }
}

# The queue policies trust the custom-bus rule ARN computed from names; if AWS ever
# returned another form, deliveries would be denied silently. The postcondition
# turns that into an apply error.
run "reject_rule_arn_other_than_the_policies_trust" {
  command = plan

  module {
    source = "./modules/event_rule_queue"
  }

  override_resource {
    target          = aws_cloudwatch_event_rule.this
    override_during = plan
    values = {
      arn = "arn:aws:events:eu-west-1:123456789012:rule/demo-purchase-events"
    }
  }

  expect_failures = [aws_cloudwatch_event_rule.this]
}

run "retry_policy_is_configurable" {
  command = plan

  module {
    source = "./modules/event_rule_queue"
  }

  variables {
    name                         = "orders"
    maximum_event_age_in_seconds = 60
    maximum_retry_attempts       = 0
  }

  assert {
    condition     = aws_sqs_queue.this.name == "demo-orders" && aws_cloudwatch_event_rule.this.name == "demo-orders"
    error_message = "name must set the queue and rule names."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.retry_policy[0].maximum_event_age_in_seconds == 60 && aws_cloudwatch_event_target.this.retry_policy[0].maximum_retry_attempts == 0
    error_message = "retry_policy must follow the variables."
  }
}

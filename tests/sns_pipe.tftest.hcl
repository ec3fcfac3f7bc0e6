# Unit tests of modules/sns_pipe in plan mode: the module is the configuration under
# test, so its resources can be asserted directly. The mock provider also fakes
# aws_iam_policy_document; the rendered policies are checked in policies.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  username      = "demo"
  name          = "basket"
  topic_arn     = "arn:aws:sns:eu-west-1:123456789012:demo-basket-events"
  event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-bus/demo-domain-events"
  event_source  = "basket_events"
}

run "pipe_transforms_labels_and_wires_events" {
  command = plan

  module {
    source = "./modules/sns_pipe"
  }

  # Make the computed ARNs known at plan time so references can be compared.
  override_resource {
    target          = aws_sqs_queue.this
    override_during = plan
    values = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-basket-pipe-source"
    }
  }

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-basket-pipe-source-dlq"
    }
  }

  override_resource {
    target          = aws_iam_role.this
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:role/demo-basket-pipe"
    }
  }

  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/demo/pipes/demo-basket-pipe"
    }
  }

  override_resource {
    target          = aws_pipes_pipe.this
    override_during = plan
    values = {
      arn = "arn:aws:pipes:eu-west-1:123456789012:pipe/demo-basket-pipe"
    }
  }

  assert {
    condition     = aws_pipes_pipe.this.name == "demo-basket-pipe"
    error_message = "Pipe name is ${aws_pipes_pipe.this.name}, expected demo-basket-pipe."
  }

  assert {
    condition     = aws_pipes_pipe.this.target_parameters[0].input_template == "{ \"event\": <$.body> }"
    error_message = "input_template is ${jsonencode(aws_pipes_pipe.this.target_parameters[0].input_template)}, expected exactly { \"event\": <$.body> } with no newline."
  }

  assert {
    condition     = aws_pipes_pipe.this.target_parameters[0].eventbridge_event_bus_parameters[0].source == "basket_events"
    error_message = "Event source is ${aws_pipes_pipe.this.target_parameters[0].eventbridge_event_bus_parameters[0].source}, expected basket_events."
  }

  assert {
    condition     = aws_pipes_pipe.this.target_parameters[0].eventbridge_event_bus_parameters[0].detail_type == "Event from aws:sqs"
    error_message = "detail_type is ${aws_pipes_pipe.this.target_parameters[0].eventbridge_event_bus_parameters[0].detail_type}, expected \"Event from aws:sqs\"."
  }

  assert {
    condition     = aws_pipes_pipe.this.target == var.event_bus_arn && aws_pipes_pipe.this.desired_state == "RUNNING"
    error_message = "The pipe must target the bus and be RUNNING."
  }

  assert {
    condition     = aws_pipes_pipe.this.source_parameters[0].sqs_queue_parameters[0].batch_size == 10 && aws_pipes_pipe.this.source_parameters[0].sqs_queue_parameters[0].maximum_batching_window_in_seconds == 0
    error_message = "Default batching must be 10 messages with no batching window."
  }

  assert {
    condition     = aws_pipes_pipe.this.log_configuration[0].level == "ERROR"
    error_message = "Default pipe log level must be ERROR."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/demo/pipes/demo-basket-pipe" && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "Log group is ${aws_cloudwatch_log_group.this.name} (${aws_cloudwatch_log_group.this.retention_in_days} days), expected /demo/pipes/demo-basket-pipe (30 days)."
  }

  assert {
    condition     = aws_sqs_queue.this.name == "demo-basket-pipe-source" && aws_sqs_queue.dlq.name == "demo-basket-pipe-source-dlq"
    error_message = "Queues are ${aws_sqs_queue.this.name} and ${aws_sqs_queue.dlq.name}, expected demo-basket-pipe-source and demo-basket-pipe-source-dlq."
  }

  assert {
    condition     = aws_sqs_queue.this.sqs_managed_sse_enabled && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "Both queues must use SSE-SQS (a KMS-managed key would block SNS delivery)."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy) == { deadLetterTargetArn = "arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source-dlq", maxReceiveCount = 5 }
    error_message = "Buffer queue redrive_policy is ${aws_sqs_queue.this.redrive_policy}, expected the DLQ with maxReceiveCount 5."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.dlq.redrive_allow_policy) == { redrivePermission = "byQueue", sourceQueueArns = ["arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source"] }
    error_message = "DLQ redrive_allow_policy is ${aws_sqs_queue.dlq.redrive_allow_policy}, expected byQueue from the buffer queue only."
  }

  assert {
    condition     = aws_sns_topic_subscription.this.raw_message_delivery == true && aws_sns_topic_subscription.this.protocol == "sqs"
    error_message = "The subscription must be protocol sqs with raw_message_delivery = true."
  }

  assert {
    condition     = aws_sns_topic_subscription.this.topic_arn == var.topic_arn && aws_sns_topic_subscription.this.endpoint == aws_sqs_queue.this.arn
    error_message = "The subscription must connect the topic to the buffer queue."
  }

  assert {
    condition     = aws_pipes_pipe.this.source == aws_sqs_queue.this.arn && aws_pipes_pipe.this.role_arn == aws_iam_role.this.arn
    error_message = "The pipe must read the buffer queue with its own role."
  }

  assert {
    condition     = aws_pipes_pipe.this.log_configuration[0].cloudwatch_logs_log_destination[0].log_group_arn == aws_cloudwatch_log_group.this.arn
    error_message = "The pipe must log to its own log group."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name == "demo-basket-pipe-source-dlq-not-empty" && jsonencode(aws_cloudwatch_metric_alarm.dlq_not_empty.dimensions) == jsonencode({ QueueName = "demo-basket-pipe-source-dlq" })
    error_message = "The DLQ alarm must be named demo-basket-pipe-source-dlq-not-empty and watch that DLQ."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_not_empty.metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.dlq_not_empty.comparison_operator == "GreaterThanThreshold" && aws_cloudwatch_metric_alarm.dlq_not_empty.threshold == 0
    error_message = "The DLQ alarm must fire when ApproximateNumberOfMessagesVisible > 0."
  }
}

run "batching_is_configurable" {
  command = plan

  module {
    source = "./modules/sns_pipe"
  }

  variables {
    batch_size                         = 5
    maximum_batching_window_in_seconds = 20
    detail_type                        = "BasketUpdated"
    log_level                          = "TRACE"
  }

  assert {
    condition     = aws_pipes_pipe.this.source_parameters[0].sqs_queue_parameters[0].batch_size == 5 && aws_pipes_pipe.this.source_parameters[0].sqs_queue_parameters[0].maximum_batching_window_in_seconds == 20
    error_message = "batch_size and maximum_batching_window_in_seconds must be passed to the pipe."
  }

  assert {
    condition     = aws_pipes_pipe.this.target_parameters[0].eventbridge_event_bus_parameters[0].detail_type == "BasketUpdated" && aws_pipes_pipe.this.log_configuration[0].level == "TRACE"
    error_message = "detail_type and log_level must be passed to the pipe."
  }
}

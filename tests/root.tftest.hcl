# Root composition in plan mode (mock provider): the lookups of the provided
# resources, the names derived from username and the feeds map, and the rule pattern.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  username = "demo"
}

run "defaults_build_two_feeds" {
  command = plan

  assert {
    condition     = data.aws_sns_topic.feed["basket"].name == "demo-basket-events" && data.aws_sns_topic.feed["checkout"].name == "demo-checkout-events"
    error_message = "The provided topics must be looked up as USERNAME-basket-events and USERNAME-checkout-events."
  }

  assert {
    condition     = data.aws_cloudwatch_event_bus.this.name == "demo-domain-events"
    error_message = "The provided bus must be looked up as USERNAME-domain-events, got ${data.aws_cloudwatch_event_bus.this.name}."
  }

  assert {
    condition     = output.pipe_names == { basket = "demo-basket-pipe", checkout = "demo-checkout-pipe" }
    error_message = "Pipes are ${jsonencode(output.pipe_names)}."
  }

  assert {
    condition     = output.buffer_queue_names == { basket = "demo-basket-pipe-source", checkout = "demo-checkout-pipe-source" } && output.buffer_dlq_names == { basket = "demo-basket-pipe-source-dlq", checkout = "demo-checkout-pipe-source-dlq" }
    error_message = "Buffer queues are ${jsonencode(output.buffer_queue_names)} / ${jsonencode(output.buffer_dlq_names)}."
  }

  assert {
    condition     = output.purchase_queue_name == "demo-purchase-events" && output.purchase_dlq_name == "demo-purchase-events-dlq" && output.rule_name == "demo-purchase-events"
    error_message = "Purchase queue, DLQ and rule must be demo-purchase-events, demo-purchase-events-dlq and demo-purchase-events."
  }

  assert {
    condition     = output.pipe_log_group_names == { basket = "/demo/pipes/demo-basket-pipe", checkout = "/demo/pipes/demo-checkout-pipe" }
    error_message = "Log groups are ${jsonencode(output.pipe_log_group_names)}."
  }

  assert {
    condition = alltrue([for name in concat(
      values(output.pipe_names), values(output.buffer_queue_names), values(output.buffer_dlq_names),
      [output.purchase_queue_name, output.purchase_dlq_name, output.rule_name], output.alarm_names,
    ) : startswith(name, "demo-")]) && alltrue([for name in values(output.pipe_log_group_names) : startswith(name, "/demo/")])
    error_message = "Every name must start with demo- (log groups with /demo/)."
  }

  assert {
    condition     = length(output.alarm_names) == 4
    error_message = "Expected 4 alarms (2 buffer DLQs, purchase DLQ, FailedInvocations), got ${jsonencode(output.alarm_names)}."
  }

  assert {
    condition     = output.rule_event_pattern == "{\"source\":[\"basket_events\",\"checkout_events\"]}"
    error_message = "Rule pattern is ${output.rule_event_pattern}, expected {\"source\":[\"basket_events\",\"checkout_events\"]}."
  }

  assert {
    condition     = output.feed_events == { basket = { source = "basket_events", detail_type = "Event from aws:sqs" }, checkout = { source = "checkout_events", detail_type = "Event from aws:sqs" } }
    error_message = "Feed events are ${jsonencode(output.feed_events)}."
  }

  assert {
    condition     = output.account_id == "123456789012" && output.region == "eu-west-1" && output.username == "demo" && output.event_bus_name == "demo-domain-events"
    error_message = "account_id, region, username and event_bus_name outputs must come from the lookups."
  }
}

run "third_feed_is_one_map_entry" {
  command = plan

  variables {
    feeds = {
      basket   = { source = "basket_events" }
      checkout = { source = "checkout_events" }
      payment  = { source = "payment_events", topic_name_suffix = "payments-v2" }
    }
  }

  assert {
    condition     = length(module.sns_pipe) == 3 && output.pipe_names["payment"] == "demo-payment-pipe"
    error_message = "A third feed must add a third pipe, got ${jsonencode(output.pipe_names)}."
  }

  assert {
    condition     = data.aws_sns_topic.feed["payment"].name == "demo-payments-v2" && data.aws_sns_topic.feed["basket"].name == "demo-basket-events"
    error_message = "topic_name_suffix must change the looked-up topic name of its feed only."
  }

  assert {
    condition     = output.rule_event_pattern == "{\"source\":[\"basket_events\",\"checkout_events\",\"payment_events\"]}"
    error_message = "Rule pattern is ${output.rule_event_pattern}; it must list every feed source."
  }
}

# Longest allowed inputs: 32-character username, 20-character feed key, 31-character
# queue suffix. Every derived name must still fit its AWS limit.
run "longest_names_fit_aws_limits" {
  command = plan

  variables {
    username                   = "abcdefghijklmnopqrstuvwxyz012345"
    purchase_queue_name_suffix = "purchase-events-0123456789abcde"
    feeds = {
      abcdefghijklmnopqrst = { source = "long_events" }
    }
  }

  assert {
    condition     = length(module.sns_pipe["abcdefghijklmnopqrst"].role_name) <= 64 && length(output.pipe_names["abcdefghijklmnopqrst"]) <= 64
    error_message = "IAM role and pipe names must be at most 64 characters."
  }

  assert {
    condition     = length(output.buffer_dlq_names["abcdefghijklmnopqrst"]) <= 80 && length(output.purchase_dlq_name) <= 80
    error_message = "Queue names must be at most 80 characters."
  }

  assert {
    condition     = length(output.rule_name) == 64
    error_message = "The rule name must be exactly at the 64-character limit here, got ${length(output.rule_name)}."
  }
}

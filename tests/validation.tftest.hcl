# Invalid inputs are rejected at plan time by variable validation (mock provider).
# Each run breaks two different variables at once, one rule each, and expects both to
# fail: as specific as one run per rule, at half the provider start-ups.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  username = "demo"
}

run "reject_uppercase_username_and_region" {
  command = plan

  variables {
    username = "Demo"
    region   = "EU-WEST-1"
  }

  expect_failures = [var.username, var.region]
}

run "reject_username_starting_with_digit_and_bad_log_level" {
  command = plan

  variables {
    username       = "1demo"
    pipe_log_level = "DEBUG"
  }

  expect_failures = [var.username, var.pipe_log_level]
}

run "reject_empty_username_and_bad_log_retention" {
  command = plan

  variables {
    username           = ""
    log_retention_days = 2
  }

  expect_failures = [var.username, var.log_retention_days]
}

run "reject_too_long_username_and_aws_source" {
  command = plan

  variables {
    username = "abcdefghijklmnopqrstuvwxyz0123456"
    feeds = {
      basket = { source = "aws.basket" }
    }
  }

  expect_failures = [var.username, var.feeds]
}

run "reject_batch_size_above_bus_limit_and_zero_max_receive_count" {
  command = plan

  variables {
    feeds = {
      basket = { source = "basket_events", batch_size = 11 }
    }
    max_receive_count = 0
  }

  expect_failures = [var.feeds, var.max_receive_count]
}

run "reject_batching_window_above_300_and_short_message_retention" {
  command = plan

  variables {
    feeds = {
      basket = { source = "basket_events", maximum_batching_window_in_seconds = 301 }
    }
    message_retention_seconds = 59
  }

  expect_failures = [var.feeds, var.message_retention_seconds]
}

run "reject_long_detail_type_and_too_many_retries" {
  command = plan

  variables {
    feeds = {
      basket = { source = "basket_events", detail_type = join("", [for i in range(129) : "x"]) }
    }
    maximum_retry_attempts = 186
  }

  expect_failures = [var.feeds, var.maximum_retry_attempts]
}

run "reject_bad_feed_key_and_short_event_age" {
  command = plan

  variables {
    feeds = {
      Basket_Feed = { source = "basket_events" }
    }
    maximum_event_age_in_seconds = 59
  }

  expect_failures = [var.feeds, var.maximum_event_age_in_seconds]
}

run "reject_empty_source_and_long_purchase_suffix" {
  command = plan

  variables {
    feeds = {
      basket = { source = "" }
    }
    purchase_queue_name_suffix = "purchase-events-0123456789abcdef"
  }

  expect_failures = [var.feeds, var.purchase_queue_name_suffix]
}

run "reject_no_feeds_and_non_sns_alarm_action" {
  command = plan

  variables {
    feeds         = {}
    alarm_actions = ["arn:aws:lambda:eu-west-1:123456789012:function:demo-pager"]
  }

  expect_failures = [var.feeds, var.alarm_actions]
}

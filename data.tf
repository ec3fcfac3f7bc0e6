# The topics and the bus are provided by the exercise account: looked up, never created.
data "aws_sns_topic" "feed" {
  for_each = local.topic_names

  name = each.value
}

data "aws_cloudwatch_event_bus" "this" {
  name = local.event_bus_name
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# Shared mock data for the plan-mode tests (mock_provider "aws" { source = "./tests/mocks" }):
# realistic ARNs, so names and policies derived from them can be asserted.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/demo"
    user_id    = "AIDAEXAMPLEUSERID"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-west-1"
  }
}

# Any valid document: the provider still validates policy JSON at plan time.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:eu-west-1:123456789012:demo-basket-events"
  }
}

mock_data "aws_cloudwatch_event_bus" {
  defaults = {
    arn = "arn:aws:events:eu-west-1:123456789012:event-bus/demo-domain-events"
  }
}

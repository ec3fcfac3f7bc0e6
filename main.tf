module "sns_pipe" {
  source   = "./modules/sns_pipe"
  for_each = var.feeds

  username      = var.username
  name          = each.key
  topic_arn     = data.aws_sns_topic.feed[each.key].arn
  event_bus_arn = data.aws_cloudwatch_event_bus.this.arn

  event_source                       = each.value.source
  detail_type                        = each.value.detail_type
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window_in_seconds

  max_receive_count         = var.max_receive_count
  message_retention_seconds = var.message_retention_seconds
  log_level                 = var.pipe_log_level
  log_retention_days        = var.log_retention_days
  alarm_actions             = var.alarm_actions
}

module "event_rule_queue" {
  source = "./modules/event_rule_queue"

  username       = var.username
  name           = var.purchase_queue_name_suffix
  event_bus_name = data.aws_cloudwatch_event_bus.this.name
  event_pattern  = local.rule_event_pattern

  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
  maximum_retry_attempts       = var.maximum_retry_attempts
  message_retention_seconds    = var.message_retention_seconds
  alarm_actions                = var.alarm_actions
}

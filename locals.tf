locals {
  topic_names    = { for key, feed in var.feeds : key => "${var.username}-${coalesce(feed.topic_name_suffix, "${key}-events")}" }
  event_bus_name = "${var.username}-${var.event_bus_name_suffix}"

  # {"source":["basket_events","checkout_events"]}: one value per feed, so adding a
  # feed widens the rule without touching it.
  rule_event_pattern = jsonencode({
    source = sort(distinct([for feed in var.feeds : feed.source]))
  })
}

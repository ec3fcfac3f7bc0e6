# Name lengths. Validations cannot see other variables on Terraform 1.5, so each part
# of a name has its own bound, chosen so the longest derived names fit AWS limits:
#   username <= 32, feed key <= 20, purchase_queue_name_suffix <= 31
#   pipe / IAM role     USERNAME-KEY-pipe                 32+1+20+5     = 58 <= 64
#   buffer DLQ          USERNAME-KEY-pipe-source-dlq      32+1+20+16    = 69 <= 80
#   rule                USERNAME-SUFFIX                   32+1+31       = 64 <= 64
#   purchase DLQ        USERNAME-SUFFIX-dlq               32+1+31+4     = 68 <= 80
#   log group           /USERNAME/pipes/USERNAME-KEY-pipe 1+32+7+58     = 98 <= 512

variable "username" {
  description = "Your IAM user name in the exercise account; prefixes every resource name (USERNAME-... and /USERNAME/... for log groups). Lowercase letters, digits and hyphens, starting with a letter, at most 32 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.username))
    error_message = "username must be 1-32 characters of lowercase letters, digits and hyphens, starting with a letter (32 keeps every derived name within AWS limits: IAM role and pipe names 64, queue names 80, rule names 64)."
  }
}

variable "region" {
  description = "AWS region holding the provided topics and bus, e.g. eu-west-1."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1 or us-gov-west-1."
  }
}

variable "feeds" {
  description = <<-EOT
    SNS feeds piped into the bus, keyed by a logical name (lowercase, at most 20 characters). For each key:
    topic_name_suffix (optional; topic USERNAME-<suffix>, default USERNAME-<key>-events),
    source (event `source` on the bus, 1-256 characters, not starting with "aws."),
    detail_type (event `detail-type`, 1-128 characters, default "Event from aws:sqs"),
    batch_size (1-10, the event bus target limit; default 10),
    maximum_batching_window_in_seconds (0-300, default 0).
    The rule matches the sources of all feeds, so adding a feed is one map entry.
  EOT
  type = map(object({
    topic_name_suffix                  = optional(string)
    source                             = string
    detail_type                        = optional(string, "Event from aws:sqs")
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
  }))
  default = {
    basket   = { source = "basket_events" }
    checkout = { source = "checkout_events" }
  }

  validation {
    condition     = length(var.feeds) >= 1
    error_message = "feeds must contain at least one feed."
  }

  validation {
    condition     = alltrue([for key in keys(var.feeds) : can(regex("^[a-z][a-z0-9-]{0,19}$", key))])
    error_message = "Each feeds key must be 1-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }

  validation {
    condition     = alltrue([for feed in values(var.feeds) : feed.topic_name_suffix == null || can(regex("^[A-Za-z0-9_-]{1,200}$", feed.topic_name_suffix))])
    error_message = "Each topic_name_suffix must be 1-200 characters of letters, digits, hyphens and underscores."
  }

  validation {
    condition     = alltrue([for feed in values(var.feeds) : length(feed.source) >= 1 && length(feed.source) <= 256 && !startswith(feed.source, "aws.")])
    error_message = "Each feed source must be 1-256 characters and must not start with \"aws.\" (reserved for AWS services)."
  }

  validation {
    condition     = alltrue([for feed in values(var.feeds) : length(feed.detail_type) >= 1 && length(feed.detail_type) <= 128])
    error_message = "Each feed detail_type must be 1-128 characters."
  }

  validation {
    condition     = alltrue([for feed in values(var.feeds) : feed.batch_size >= 1 && feed.batch_size <= 10 && floor(feed.batch_size) == feed.batch_size])
    error_message = "Each feed batch_size must be a whole number from 1 to 10 (a pipe with an event bus target sends at most 10 events per PutEvents)."
  }

  validation {
    condition     = alltrue([for feed in values(var.feeds) : feed.maximum_batching_window_in_seconds >= 0 && feed.maximum_batching_window_in_seconds <= 300 && floor(feed.maximum_batching_window_in_seconds) == feed.maximum_batching_window_in_seconds])
    error_message = "Each feed maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "event_bus_name_suffix" {
  description = "The provided event bus is USERNAME-<suffix>."
  type        = string
  default     = "domain-events"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,200}$", var.event_bus_name_suffix))
    error_message = "event_bus_name_suffix must be 1-200 characters of letters, digits, '.', '_' or '-'."
  }
}

variable "purchase_queue_name_suffix" {
  description = "The rule's target queue is USERNAME-<suffix> (the rule has the same name, its DLQ adds -dlq)."
  type        = string
  default     = "purchase-events"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.purchase_queue_name_suffix))
    error_message = "purchase_queue_name_suffix must be 1-31 characters of lowercase letters, digits and hyphens, starting with a letter (rule names are limited to 64 characters)."
  }
}

variable "max_receive_count" {
  description = "Receives before SQS moves a message from a pipe's buffer queue to its DLQ, 1-1000. AWS recommends at least 5 for pipe sources."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the buffer queues and the purchase queue keep a message, 60-1209600 seconds (DLQs always keep 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "pipe_log_level" {
  description = "Log level of the pipes: OFF, ERROR, INFO or TRACE."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO", "TRACE"], var.pipe_log_level)
    error_message = "pipe_log_level must be one of OFF, ERROR, INFO, TRACE."
  }
}

variable "log_retention_days" {
  description = "Retention of the pipe log groups in days; one of the values CloudWatch Logs accepts (0 = never expire)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "How long EventBridge keeps retrying delivery to the purchase queue, 60-86400 seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds
    error_message = "maximum_event_age_in_seconds must be a whole number from 60 to 86400."
  }
}

variable "maximum_retry_attempts" {
  description = "How many times EventBridge retries delivery to the purchase queue before using its DLQ, 0-185."
  type        = number
  default     = 185

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be a whole number from 0 to 185."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when a DLQ or FailedInvocations alarm fires. Empty: the alarms only change state."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:", arn))])
    error_message = "alarm_actions must contain SNS topic ARNs only."
  }
}

variable "tags" {
  description = "Tags added to every resource (merged with Owner, Project and ManagedBy)."
  type        = map(string)
  default     = {}
}

variable "username" {
  description = "Prefix of every resource name (the IAM user name in the exercise account). Lowercase letters, digits and hyphens, starting with a letter."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.username))
    error_message = "username must be 1-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Suffix of the queue and rule names: the queue is USERNAME-NAME, its DLQ USERNAME-NAME-dlq."
  type        = string
  default     = "purchase-events"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be 1-31 characters of lowercase letters, digits and hyphens, starting with a letter (rule names are limited to 64 characters)."
  }
}

variable "event_bus_name" {
  description = "Name of the existing custom event bus the rule listens on."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.event_bus_name)) && var.event_bus_name != "default"
    error_message = "event_bus_name must be the name (not ARN) of a custom event bus: 1-256 characters of letters, digits, '.', '_' or '-'."
  }
}

variable "event_pattern" {
  description = "EventBridge event pattern (JSON) the rule matches, at most 4096 characters."
  type        = string

  validation {
    condition     = can(jsondecode(var.event_pattern)) && length(var.event_pattern) <= 4096
    error_message = "event_pattern must be a JSON document of at most 4096 characters."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "How long EventBridge keeps retrying delivery to the queue, 60-86400 seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds
    error_message = "maximum_event_age_in_seconds must be a whole number from 60 to 86400."
  }
}

variable "maximum_retry_attempts" {
  description = "How many times EventBridge retries delivery to the queue before using the DLQ, 0-185."
  type        = number
  default     = 185

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be a whole number from 0 to 185."
  }
}

variable "message_retention_seconds" {
  description = "How long the target queue keeps an unconsumed event, 60-1209600 seconds."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps an undelivered event, 60-1209600 seconds."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600 && floor(var.dlq_message_retention_seconds) == var.dlq_message_retention_seconds
    error_message = "dlq_message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when an alarm fires. Empty: the alarms only change state."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:", arn))])
    error_message = "alarm_actions must contain SNS topic ARNs only."
  }
}

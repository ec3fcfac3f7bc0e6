variable "username" {
  description = "Prefix of every resource name (the IAM user name in the exercise account). Lowercase letters, digits and hyphens, starting with a letter."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.username))
    error_message = "username must be 1-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Logical name of the feed (e.g. basket); used in every derived resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name))
    error_message = "name must be 1-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "topic_arn" {
  description = "ARN of the existing SNS topic the buffer queue subscribes to."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.topic_arn))
    error_message = "topic_arn must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)."
  }
}

variable "event_bus_arn" {
  description = "ARN of the existing EventBridge event bus the pipe puts events on."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}$", var.event_bus_arn))
    error_message = "event_bus_arn must be an EventBridge event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>)."
  }
}

variable "event_source" {
  description = "Value of `source` on every event the pipe puts on the bus (EventBridgeEventBusParameters.Source). 1-256 characters; must not start with \"aws.\"."
  type        = string

  validation {
    condition     = length(var.event_source) >= 1 && length(var.event_source) <= 256 && !startswith(var.event_source, "aws.")
    error_message = "event_source must be 1-256 characters and must not start with \"aws.\" (reserved for AWS services)."
  }
}

variable "detail_type" {
  description = "Value of `detail-type` on every event the pipe puts on the bus. 1-128 characters."
  type        = string
  default     = "Event from aws:sqs"

  validation {
    condition     = length(var.detail_type) >= 1 && length(var.detail_type) <= 128
    error_message = "detail_type must be 1-128 characters."
  }
}

variable "batch_size" {
  description = "Maximum SQS messages per pipe batch. An event bus target accepts at most 10 (the PutEvents entry limit)."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10 (event bus target limit)."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Longest time the pipe waits to fill a batch, 0-300 seconds. 0 sends as soon as messages arrive."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "max_receive_count" {
  description = "Receives before SQS moves a message from the buffer queue to its DLQ. AWS recommends at least 5 for pipe sources."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the buffer queue, 0-43200 seconds. AWS recommends at least 6x the pipe's target time; PutEvents takes well under 10 s."
  type        = number
  default     = 60

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "visibility_timeout_seconds must be a whole number from 0 to 43200."
  }
}

variable "message_retention_seconds" {
  description = "How long the buffer queue keeps an undelivered message, 60-1209600 seconds."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "log_level" {
  description = "Pipe log level: OFF, ERROR, INFO or TRACE."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO", "TRACE"], var.log_level)
    error_message = "log_level must be one of OFF, ERROR, INFO, TRACE."
  }
}

variable "log_retention_days" {
  description = "Retention of the pipe log group in days; one of the values CloudWatch Logs accepts (0 = never expire)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when the DLQ alarm fires. Empty: the alarm only changes state."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:", arn))])
    error_message = "alarm_actions must contain SNS topic ARNs only."
  }
}

resource "aws_pipes_pipe" "this" {
  name          = local.pipe_name
  description   = "Forwards ${var.name} events from SQS queue ${local.queue_name} to the event bus."
  role_arn      = aws_iam_role.this.arn
  source        = aws_sqs_queue.this.arn
  target        = var.event_bus_arn
  desired_state = "RUNNING"

  source_parameters {
    sqs_queue_parameters {
      batch_size                         = var.batch_size
      maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
    }
  }

  target_parameters {
    input_template = local.input_template

    # Without these the bus sees source "Pipe <name>" and the rule never matches.
    eventbridge_event_bus_parameters {
      source      = var.event_source
      detail_type = var.detail_type
    }
  }

  log_configuration {
    level = var.log_level

    cloudwatch_logs_log_destination {
      log_group_arn = aws_cloudwatch_log_group.this.arn
    }
  }

  # A pipe created before its role policy exists ends in CREATE_FAILED
  # ("customer role does not have permissions to call ReceiveMessage").
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    postcondition {
      condition     = self.arn == local.pipe_arn
      error_message = "Pipe ARN ${self.arn} differs from ${local.pipe_arn}, which the role trust policy is scoped to."
    }
  }
}

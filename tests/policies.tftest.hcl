# Exact policy documents, as rendered by the real provider. aws_iam_policy_document is
# computed locally by the provider, so this plan needs no AWS access: the credentials
# below are placeholders, nothing is requested from AWS, and the only remote data
# source (caller identity) is overridden. A mock provider could not be used here:
# it would fake the rendered JSON itself.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/demo"
    user_id    = "AIDAEXAMPLEUSERID"
  }
}

run "buffer_queue_admits_only_its_topic" {
  command = plan

  module {
    source = "./modules/sns_pipe"
  }

  variables {
    username      = "demo"
    name          = "basket"
    topic_arn     = "arn:aws:sns:eu-west-1:123456789012:demo-basket-events"
    event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-bus/demo-domain-events"
    event_source  = "basket_events"
  }

  assert {
    condition = jsonencode([for s in jsondecode(aws_sqs_queue.this.policy).Statement : {
      Sid       = s.Sid
      Effect    = s.Effect
      Principal = s.Principal
      Action    = sort(flatten([s.Action]))
      Resource  = sort(flatten([s.Resource]))
      Condition = s.Condition
      }]) == jsonencode([
      {
        Sid       = "AllowTopicToSendMessage"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = ["arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source"]
        Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:sns:eu-west-1:123456789012:demo-basket-events" } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["sqs:*"]
        Resource  = ["arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ])
    error_message = "Buffer queue policy is ${aws_sqs_queue.this.policy}; expected only sns.amazonaws.com sqs:SendMessage with aws:SourceArn = the topic, plus the non-TLS deny."
  }

  assert {
    condition = jsonencode([for s in jsondecode(aws_sqs_queue.dlq.policy).Statement : {
      Effect    = s.Effect
      Principal = s.Principal
      Action    = sort(flatten([s.Action]))
      Resource  = sort(flatten([s.Resource]))
      Condition = s.Condition
      }]) == jsonencode([{
      Effect    = "Deny"
      Principal = "*"
      Action    = ["sqs:*"]
      Resource  = ["arn:aws:sqs:eu-west-1:123456789012:demo-basket-pipe-source-dlq"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }])
    error_message = "Buffer DLQ policy is ${aws_sqs_queue.dlq.policy}; expected only the non-TLS deny (SQS redrive needs no grant)."
  }
}

run "pipe_role_is_least_privilege" {
  command = plan

  module {
    source = "./modules/sns_pipe"
  }

  variables {
    username      = "demo"
    name          = "checkout"
    topic_arn     = "arn:aws:sns:eu-west-1:123456789012:demo-checkout-events"
    event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-bus/demo-domain-events"
    event_source  = "checkout_events"
  }

  assert {
    condition = jsonencode([for s in jsondecode(aws_iam_role.this.assume_role_policy).Statement : {
      Effect    = s.Effect
      Principal = s.Principal
      Action    = sort(flatten([s.Action]))
      Condition = s.Condition
      }]) == jsonencode([{
      Effect    = "Allow"
      Principal = { Service = "pipes.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
      Condition = {
        ArnEquals    = { "aws:SourceArn" = "arn:aws:pipes:eu-west-1:123456789012:pipe/demo-checkout-pipe" }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }])
    error_message = "Trust policy is ${aws_iam_role.this.assume_role_policy}; expected pipes.amazonaws.com guarded by aws:SourceAccount and aws:SourceArn = this pipe."
  }

  assert {
    condition = jsonencode([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : {
      Effect   = s.Effect
      Action   = sort(flatten([s.Action]))
      Resource = sort(flatten([s.Resource]))
      }]) == jsonencode([
      {
        Effect   = "Allow"
        Action   = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
        Resource = ["arn:aws:sqs:eu-west-1:123456789012:demo-checkout-pipe-source"]
      },
      {
        Effect   = "Allow"
        Action   = ["events:PutEvents"]
        Resource = ["arn:aws:events:eu-west-1:123456789012:event-bus/demo-domain-events"]
      },
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:aws:logs:eu-west-1:123456789012:log-group:/demo/pipes/demo-checkout-pipe:*"]
      },
    ])
    error_message = "Pipe role policy is ${aws_iam_role_policy.this.policy}; expected exactly receive/delete/get-attributes on the buffer queue, PutEvents on the bus and log writes to its own group."
  }

  assert {
    condition = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : concat(
      [for a in flatten([s.Action]) : !strcontains(a, "*")],
      [for r in flatten([s.Resource]) : r != "*"],
      [!contains(keys(s), "NotAction"), !contains(keys(s), "NotResource")],
    )]))
    error_message = "The pipe role policy must have no wildcard action, no \"*\" resource and no NotAction/NotResource."
  }
}

run "purchase_queues_admit_only_the_rule" {
  command = plan

  module {
    source = "./modules/event_rule_queue"
  }

  variables {
    username       = "demo"
    event_bus_name = "demo-domain-events"
    event_pattern  = "{\"source\":[\"basket_events\",\"checkout_events\"]}"
  }

  assert {
    condition = alltrue([for queue in [aws_sqs_queue.this, aws_sqs_queue.dlq] : jsonencode([for s in jsondecode(queue.policy).Statement : {
      Sid       = s.Sid
      Effect    = s.Effect
      Principal = s.Principal
      Action    = sort(flatten([s.Action]))
      Resource  = sort(flatten([s.Resource]))
      Condition = s.Condition
      }]) == jsonencode([
      {
        Sid       = "AllowRuleToSendMessage"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = ["arn:aws:sqs:eu-west-1:123456789012:${queue.name}"]
        Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:123456789012:rule/demo-domain-events/demo-purchase-events" } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["sqs:*"]
        Resource  = ["arn:aws:sqs:eu-west-1:123456789012:${queue.name}"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ])])
    error_message = "Purchase queue policy is ${aws_sqs_queue.this.policy} and DLQ policy ${aws_sqs_queue.dlq.policy}; each must allow only events.amazonaws.com sqs:SendMessage with aws:SourceArn = rule/demo-domain-events/demo-purchase-events, plus the non-TLS deny."
  }
}

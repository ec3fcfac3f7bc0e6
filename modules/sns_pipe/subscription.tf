# Raw delivery makes the SQS body the published message itself; without it the pipe
# would see the SNS envelope and `<$.body>` would not be the business event.
resource "aws_sns_topic_subscription" "this" {
  topic_arn            = var.topic_arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this.arn
  raw_message_delivery = true
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Holds only pipe error records about events already readable in the SSE-SQS queues; CloudWatch Logs encrypts at rest by default, and a CMK would add a key policy for the logs service plus a monthly key cost per feed.
  #checkov:skip=CKV_AWS_338:Troubleshooting logs for a short-lived exercise stack; retention is the log_retention_days variable so a long-lived deployment can raise it.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
}

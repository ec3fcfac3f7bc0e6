# No endpoints or skip_* settings: a local cloud is reached through the standard
# AWS_ENDPOINT_URL environment variable only, so this file is the same everywhere.
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Owner     = var.username
      Project   = "event-pipes"
      ManagedBy = "terraform"
    })
  }
}

#!/usr/bin/env bash
# Publish the two example events to the provided SNS topics of USERNAME.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: $SCRIPT_NAME [-h|--help] USERNAME

Publishes the example events to the SNS topics provided for USERNAME:
  example-sns-events/basket-updated-event.json   -> USERNAME-basket-events
  example-sns-events/checkout-created-event.json -> USERNAME-checkout-events
and prints the MessageId of each publish. The topic ARNs are built from the caller's account and
partition ('aws sts get-caller-identity') and the configured region; nothing is hard-coded.

Arguments:
  USERNAME   the IAM username prefixing the topics (default: \$IAM_USERNAME)

Environment:
  IAM_USERNAME       used when USERNAME is not given
  AWS_REGION         region (then AWS_DEFAULT_REGION, then 'aws configure get region', then eu-west-1)
  AWS_PROFILE        AWS CLI profile to use
  AWS_ENDPOINT_URL   endpoint override, e.g. a local cloud (passed explicitly, so AWS CLI v1 honours it too)

Requires: aws (v1 or v2), jq.
EOF
}

username=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option: $1" 2 ;;
    *)
      [[ -z "$username" ]] || { usage >&2; die "unexpected argument: $1" 2; }
      username="$1"
      ;;
  esac
  shift
done
if [[ $# -gt 0 ]]; then
  [[ -z "$username" && $# -eq 1 ]] || { usage >&2; die "unexpected argument: $*" 2; }
  username="$1"
fi
username="${username:-${IAM_USERNAME:-}}"
if [[ -z "$username" ]]; then
  usage >&2
  die "missing USERNAME (pass it as the argument or set IAM_USERNAME)" 2
fi
if [[ ! "$username" =~ ^[A-Za-z0-9_-]+$ ]]; then
  die "invalid USERNAME '$username': SNS topic names allow only letters, digits, '-' and '_'" 2
fi

need_tool aws
need_tool jq
resolve_region

events_dir="$REPO_ROOT/example-sns-events"
declare -a feeds=(
  "basket-events:basket-updated-event.json"
  "checkout-events:checkout-created-event.json"
)
for feed in "${feeds[@]}"; do
  file="$events_dir/${feed#*:}"
  [[ -r "$file" ]] || die "example event not found: $file"
  jq -e . "$file" >/dev/null 2>&1 || die "example event is not valid JSON: $file"
done

if ! identity="$(awscli sts get-caller-identity --output json)"; then
  die "could not identify the caller with 'aws sts get-caller-identity' (check credentials, AWS_PROFILE, AWS_ENDPOINT_URL)"
fi
account="$(jq -r '.Account // empty' <<<"$identity")"
caller_arn="$(jq -r '.Arn // empty' <<<"$identity")"
[[ "$account" =~ ^[0-9]{12}$ ]] || die "unexpected account id from sts get-caller-identity: '$account'"
# arn:PARTITION:service:... -> PARTITION (aws, aws-cn, aws-us-gov, ...)
partition="$(cut -d: -f2 <<<"$caller_arn")"
[[ -n "$partition" ]] || die "could not derive the partition from the caller ARN '$caller_arn'"

note "account $account, region $AWS_CLI_REGION, partition $partition"
for feed in "${feeds[@]}"; do
  topic="$username-${feed%%:*}"
  file="$events_dir/${feed#*:}"
  topic_arn="arn:$partition:sns:$AWS_CLI_REGION:$account:$topic"
  if ! message_id="$(awscli sns publish --topic-arn "$topic_arn" --message "file://$file" \
    --query MessageId --output text)"; then
    die "publishing ${file#"$REPO_ROOT"/} to $topic_arn failed (does the topic exist in $AWS_CLI_REGION?)"
  fi
  printf '%s -> %s MessageId: %s\n' "${file#"$REPO_ROOT"/}" "$topic_arn" "$message_id"
done

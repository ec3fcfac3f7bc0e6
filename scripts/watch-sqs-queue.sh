#!/usr/bin/env bash
# Watch an SQS queue: long-poll it, print each message body (pretty JSON) and delete what was printed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: $SCRIPT_NAME [options] [QUEUE]

Without QUEUE: lists the SQS queue names of the region (and lets you pick one with fzf when fzf is
installed and the terminal is interactive).
With QUEUE (a name or a queue URL): long-polls the queue (20 s, up to 10 messages at a time), prints
each message body (pretty-printed with jq when it is JSON, raw otherwise) followed by its message
attributes if it has any, and deletes the messages it printed. Stop with Ctrl-C.

Options:
  --keep          do not delete the messages (they become visible again after the visibility timeout)
  --once          exit after the first poll that returns no message
  --wait SECONDS  long-poll wait time, 0-20 (default 20)
  -h, --help      show this help

Environment:
  AWS_REGION         region (then AWS_DEFAULT_REGION, then 'aws configure get region', then eu-west-1)
  AWS_PROFILE        AWS CLI profile to use
  AWS_ENDPOINT_URL   endpoint override, e.g. a local cloud (passed explicitly, so AWS CLI v1 honours it too)
  IAM_USERNAME       not read; the usual queue is \${IAM_USERNAME}-purchase-events

Requires: aws (v1 or v2), jq. Optional: fzf.
EOF
}

keep=false
once=false
wait_seconds=20
queue=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --keep) keep=true ;;
    --once) once=true ;;
    --wait)
      [[ $# -ge 2 ]] || { usage >&2; die "--wait needs a value" 2; }
      wait_seconds="$2"
      shift
      ;;
    --wait=*) wait_seconds="${1#--wait=}" ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option: $1" 2 ;;
    *)
      [[ -z "$queue" ]] || { usage >&2; die "unexpected argument: $1" 2; }
      queue="$1"
      ;;
  esac
  shift
done
if [[ $# -gt 0 ]]; then
  [[ -z "$queue" && $# -eq 1 ]] || { usage >&2; die "unexpected argument: $*" 2; }
  queue="$1"
fi
if [[ ! "$wait_seconds" =~ ^[0-9]+$ ]] || ((wait_seconds > 20)); then
  die "--wait must be a whole number of seconds between 0 and 20, got '$wait_seconds'" 2
fi

need_tool aws
need_tool jq
resolve_region

# Queue names of the region, one a line (the CLI follows NextToken itself).
list_queue_names() {
  local out
  out="$(awscli sqs list-queues --output json)" || die "could not list SQS queues in $AWS_CLI_REGION"
  # v1 prints nothing at all when there is no queue.
  [[ -n "$out" ]] || return 0
  jq -r '.QueueUrls // [] | .[] | split("/") | last' <<<"$out" | sort
}

if [[ -z "$queue" ]]; then
  names="$(list_queue_names)"
  if [[ -z "$names" ]]; then
    note "no SQS queue in region $AWS_CLI_REGION"
    exit 0
  fi
  if have_tool fzf && is_interactive; then
    queue="$(fzf --prompt="queue> " <<<"$names")" || exit 0
  else
    printf '%s\n' "$names"
    exit 0
  fi
fi

if [[ "$queue" =~ ^https?:// ]]; then
  queue_url="$queue"
  queue="${queue_url##*/}"
else
  errfile="$(mktemp)"
  trap 'rm -f "$errfile"' EXIT
  if ! queue_url="$(awscli sqs get-queue-url --queue-name "$queue" --query QueueUrl --output text 2>"$errfile")"; then
    err="$(cat "$errfile")"
    if grep -qE 'NonExistentQueue|QueueDoesNotExist|does not exist' <<<"$err"; then
      # Near names: queues containing the given name, contained in it, or sharing its first word.
      prefix="${queue%%-*}"
      near="$(list_queue_names | awk -v q="$queue" -v p="$prefix" '
        { l = tolower($0); ql = tolower(q); pl = tolower(p) }
        index(l, ql) || index(ql, l) || (pl != "" && index(l, pl) == 1) { print "  " $0 }')"
      msg="queue '$queue' not found in region $AWS_CLI_REGION"
      if [[ -n "$near" ]]; then
        msg+=$'. Queues with a similar name:\n'"$near"
      else
        msg+=" (no queue with a similar name; run $SCRIPT_NAME without argument to list them)"
      fi
      die "$msg" 1
    fi
    die "could not resolve the URL of queue '$queue': $err" 1
  fi
fi

trap 'printf "\n" >&2; exit 130' INT
note "watching $queue_url (Ctrl-C to stop$([[ "$keep" == true ]] && printf ', messages are kept'))"

while true; do
  response="$(awscli sqs receive-message --queue-url "$queue_url" \
    --wait-time-seconds "$wait_seconds" --max-number-of-messages 10 \
    --attribute-names All --message-attribute-names All --output json)" \
    || die "receive-message failed on $queue_url"
  count=0
  [[ -z "$response" ]] || count="$(jq '.Messages // [] | length' <<<"$response")"
  if ((count == 0)); then
    if [[ "$once" == true ]]; then
      exit 0
    fi
    continue
  fi
  for ((i = 0; i < count; i++)); do
    body="$(jq -r --argjson i "$i" '.Messages[$i].Body' <<<"$response")"
    if [[ -n "$body" ]] && jq . >/dev/null 2>&1 <<<"$body"; then
      jq . <<<"$body"
    else
      printf '%s\n' "$body"
    fi
    attributes="$(jq -c --argjson i "$i" '.Messages[$i].MessageAttributes // {}' <<<"$response")"
    if [[ "$attributes" != "{}" ]]; then
      printf 'MessageAttributes:\n'
      jq --argjson i "$i" '.Messages[$i].MessageAttributes
        | with_entries(.value = (.value.StringValue // .value.BinaryValue // .value))' <<<"$response"
    fi
  done
  if [[ "$keep" != true ]]; then
    entries="$(jq -c '[.Messages | to_entries[] | {Id: "m\(.key)", ReceiptHandle: .value.ReceiptHandle}]' <<<"$response")"
    result="$(awscli sqs delete-message-batch --queue-url "$queue_url" --entries "$entries" --output json)" \
      || die "delete-message-batch failed on $queue_url"
    failed=0
    [[ -z "$result" ]] || failed="$(jq '.Failed // [] | length' <<<"$result")"
    ((failed == 0)) || note "$failed message(s) could not be deleted: $(jq -c '.Failed' <<<"$result")"
  fi
done

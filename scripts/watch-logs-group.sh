#!/usr/bin/env bash
# Tail a CloudWatch Logs group (with awslogs when installed, else with `aws logs filter-log-events`).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: $SCRIPT_NAME [options] [GROUP]

Without GROUP: lists the CloudWatch log group names of the region (and lets you pick one with fzf
when fzf is installed and the terminal is interactive).
With GROUP: prints the group's events of the last --since seconds, then follows new ones. Uses
'awslogs get GROUP ALL --watch' when awslogs is installed (and no endpoint override is set), else polls
'aws logs filter-log-events' and prints "timestamp message" lines. When GROUP does not exist but
'/GROUP' or groups containing GROUP do (the pipe log groups are named /USERNAME/pipes/...), the
matching groups are named; a single match is followed directly.

Options:
  --since SECONDS    how far back to start (default 300)
  --once             print the events found once and exit (no follow; never uses awslogs)
  --interval SECONDS pause between polls when following (default 5)
  --no-awslogs       do not use awslogs even when it is installed
  -h, --help         show this help

Environment:
  AWS_REGION         region (then AWS_DEFAULT_REGION, then 'aws configure get region', then eu-west-1)
  AWS_PROFILE        AWS CLI profile to use
  AWS_ENDPOINT_URL   endpoint override, e.g. a local cloud (passed explicitly, so AWS CLI v1 honours it too)
  IAM_USERNAME       not read; log groups of this project are named /\${IAM_USERNAME}/...

Requires: aws (v1 or v2), jq. Optional: fzf, awslogs.
EOF
}

since=300
interval=5
once=false
use_awslogs=true
group=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --once) once=true ;;
    --no-awslogs) use_awslogs=false ;;
    --since | --interval)
      [[ $# -ge 2 ]] || { usage >&2; die "$1 needs a value" 2; }
      [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be a whole number of seconds, got '$2'" 2
      if [[ "$1" == --since ]]; then since="$2"; else interval="$2"; fi
      shift
      ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option: $1" 2 ;;
    *)
      [[ -z "$group" ]] || { usage >&2; die "unexpected argument: $1" 2; }
      group="$1"
      ;;
  esac
  shift
done
if [[ $# -gt 0 ]]; then
  [[ -z "$group" && $# -eq 1 ]] || { usage >&2; die "unexpected argument: $*" 2; }
  group="$1"
fi

need_tool aws
need_tool jq
resolve_region

# Log group names of the region, one a line (the CLI follows nextToken itself).
list_groups() {
  local out
  out="$(awscli logs describe-log-groups --output json)" || die "could not list log groups in $AWS_CLI_REGION"
  [[ -n "$out" ]] || return 0
  jq -r '.logGroups // [] | .[].logGroupName' <<<"$out" | sort
}

pick() {
  fzf --prompt="log group> "
}

if [[ -z "$group" ]]; then
  groups="$(list_groups)"
  if [[ -z "$groups" ]]; then
    note "no log group in region $AWS_CLI_REGION"
    exit 0
  fi
  if have_tool fzf && is_interactive; then
    group="$(pick <<<"$groups")" || exit 0
  else
    printf '%s\n' "$groups"
    exit 0
  fi
fi

groups="$(list_groups)"
if ! grep -qxF -- "$group" <<<"$groups"; then
  matches="$(awk -v g="$group" '$0 == "/" g || index(tolower($0), tolower(g)) { print }' <<<"$groups")"
  if [[ -z "$matches" ]]; then
    die "log group '$group' not found in region $AWS_CLI_REGION (run $SCRIPT_NAME without argument to list the groups)" 1
  fi
  count="$(grep -c . <<<"$matches")"
  if ((count == 1)); then
    note "log group '$group' not found; following the only matching group '$matches'"
    group="$matches"
  elif have_tool fzf && is_interactive; then
    note "log group '$group' not found; pick one of the $count matching groups"
    group="$(pick <<<"$matches")" || exit 0
  else
    die "log group '$group' not found in region $AWS_CLI_REGION; matching groups:"$'\n'"  ${matches//$'\n'/$'\n'  }" 1
  fi
fi

if [[ "$once" != true && "$use_awslogs" == true ]] && have_tool awslogs; then
  if [[ -z "$(endpoint_for logs)" ]]; then
    minutes=$(((since + 59) / 60))
    ((minutes > 0)) || minutes=1
    note "following $group with awslogs (Ctrl-C to stop)"
    exec awslogs get "$group" ALL --watch --start "${minutes}m" --aws-region "$AWS_CLI_REGION"
  fi
  note "an endpoint override is set; not using awslogs"
fi

trap 'printf "\n" >&2; exit 130' INT
[[ "$once" == true ]] || note "following $group (Ctrl-C to stop)"

start_ms=$((($(date +%s) - since) * 1000))
seen='[]' # eventIds already printed whose timestamp equals start_ms
while true; do
  response="$(awscli logs filter-log-events --log-group-name "$group" --start-time "$start_ms" --output json)" \
    || die "filter-log-events failed on log group '$group'"
  [[ -n "$response" ]] || response='{}'
  jq -r --argjson seen "$seen" '
    .events // [] | sort_by(.timestamp)[] | select(.eventId as $id | $seen | index($id) | not)
    | ((.timestamp / 1000 | floor | strftime("%Y-%m-%dT%H:%M:%S")) + "."
       + ((.timestamp % 1000) | tostring | "00" + . | .[-3:]) + "Z")
      + " " + (.message | rtrimstr("\n"))' <<<"$response"
  state="$(jq -c --argjson start "$start_ms" --argjson seen "$seen" '
    (.events // []) as $ev
    | ([$ev[].timestamp] | max // $start) as $last
    | if $last == $start then {start: $start, seen: ($seen + [$ev[] | select(.timestamp == $start) | .eventId] | unique)}
      else {start: $last, seen: [$ev[] | select(.timestamp == $last) | .eventId]} end' <<<"$response")"
  start_ms="$(jq -r .start <<<"$state")"
  seen="$(jq -c .seen <<<"$state")"
  [[ "$once" != true ]] || exit 0
  sleep "$interval"
done

# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source it; do not run it.
#
# Provides:
#   REPO_ROOT            absolute path of the repository (resolved from this file's location)
#   die MSG [CODE]       print "SCRIPT: error: MSG" on stderr and exit CODE (default 1)
#   note MSG             print "SCRIPT: MSG" on stderr
#   need_tool TOOL       exit 1 with an install hint when TOOL is not on PATH
#   have_tool TOOL       true when TOOL is on PATH (for optional tools)
#   resolve_region       set AWS_CLI_REGION from AWS_REGION / AWS_DEFAULT_REGION / `aws configure get region`
#   awscli SERVICE ...   `aws` with --region and --endpoint-url passed explicitly (see below)
#   is_interactive       true when stdin and stdout are terminals
#
# Why awscli() exists: AWS CLI v1 ignores AWS_REGION (it reads only AWS_DEFAULT_REGION and the
# config file), and the v1 builds we tested (1.45) ignore AWS_ENDPOINT_URL, so
# `AWS_ENDPOINT_URL=http://127.0.0.1:1 aws sqs list-queues` goes to the real AWS endpoint instead of
# failing. AWS CLI v2 honours both. Passing --region and --endpoint-url explicitly gives the same
# behaviour on v1 and v2.

SCRIPT_NAME="$(basename "$0")"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export REPO_ROOT

# Never page output through `less` (AWS CLI v2 does by default on a terminal).
export AWS_PAGER=""

die() {
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$1" >&2
  exit "${2:-1}"
}

note() {
  printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
}

have_tool() {
  command -v "$1" >/dev/null 2>&1
}

install_hint() {
  case "$1" in
    aws) printf '%s' "Debian/Ubuntu: 'apt-get install awscli' or 'pip install awscli' (v1), or the v2 installer from https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html; macOS: 'brew install awscli'" ;;
    jq) printf '%s' "Debian/Ubuntu: 'apt-get install jq'; macOS: 'brew install jq'" ;;
    fzf) printf '%s' "Debian/Ubuntu: 'apt-get install fzf'; macOS: 'brew install fzf'" ;;
    awslogs) printf '%s' "Debian/Ubuntu: 'pipx install awslogs' (or 'pip install awslogs'); macOS: 'brew install awslogs'" ;;
    *) printf '%s' "install '$1' with your package manager" ;;
  esac
}

need_tool() {
  local tool="$1"
  if ! have_tool "$tool"; then
    die "required tool '$tool' was not found on PATH. Install it: $(install_hint "$tool")" 1
  fi
}

is_interactive() {
  [[ -t 0 && -t 1 ]]
}

# Region: AWS_REGION, then AWS_DEFAULT_REGION, then the CLI configuration (honours AWS_PROFILE and
# AWS_CONFIG_FILE), then eu-west-1 with a note on stderr.
resolve_region() {
  AWS_CLI_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
  if [[ -z "$AWS_CLI_REGION" ]]; then
    AWS_CLI_REGION="$(aws configure get region 2>/dev/null || true)"
  fi
  if [[ -z "$AWS_CLI_REGION" ]]; then
    AWS_CLI_REGION="eu-west-1"
    note "no region configured (AWS_REGION, AWS_DEFAULT_REGION, aws configure); defaulting to $AWS_CLI_REGION"
  fi
  export AWS_CLI_REGION
}

# The endpoint for SERVICE, as AWS CLI v2 would pick it from the environment:
# AWS_ENDPOINT_URL_<SERVICE> first, then AWS_ENDPOINT_URL; nothing when
# AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true. Prints an empty string when none applies.
endpoint_for() {
  local service="$1" var
  if [[ "${AWS_IGNORE_CONFIGURED_ENDPOINT_URLS:-}" == "true" ]]; then
    return 0
  fi
  var="AWS_ENDPOINT_URL_$(printf '%s' "$service" | tr '[:lower:]-' '[:upper:]_')"
  if [[ -n "${!var:-}" ]]; then
    printf '%s' "${!var}"
  elif [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
    printf '%s' "$AWS_ENDPOINT_URL"
  fi
}

# awscli SERVICE OPERATION [ARGS...]: the AWS CLI with region and endpoint made explicit.
awscli() {
  local service="$1" endpoint
  shift
  endpoint="$(endpoint_for "$service")"
  local -a extra=(--region "${AWS_CLI_REGION:?resolve_region was not called}")
  if [[ -n "$endpoint" ]]; then
    extra+=(--endpoint-url "$endpoint")
  fi
  aws "$service" "$@" "${extra[@]}"
}

# shellcheck shell=bash
# lib.sh: helpers shared by the pipeline's scripts; sourced, never run on its own:
#   here="$(cd "$(dirname "$0")" && pwd)"; source "$here/lib.sh"
# Every failure ends with an `error: ...` line on stderr and a non-zero exit status.

# A command that fails without saying why still ends the run with an `error:` line (commands
# that report their own errors are followed by `|| exit` in the scripts, so they say it once).
on_error() {
  printf 'error: %s: line %s: %s failed (exit %s)\n' "${0##*/}" "$2" "$BASH_COMMAND" "$1" >&2
}
trap 'on_error $? $LINENO' ERR

# Every AWS call retries throttling and transient errors (AWS CLI User Guide, "AWS CLI retries"):
# standard mode, 10 attempts in all instead of the CLI's default 3; a caller's own values win.
# pipelinegen.retries defines these for the jobs and buildspecs too.
export AWS_RETRY_MODE="${AWS_RETRY_MODE:-standard}"
export AWS_MAX_ATTEMPTS="${AWS_MAX_ATTEMPTS:-10}"

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

note() {
  printf '==> %s\n' "$*"
}

# require_env NAME... : fail, naming every missing one at once, when any is unset or empty.
require_env() {
  local name missing=()
  for name in "$@"; do
    if [[ -z "${!name:-}" ]]; then
      missing+=("$name")
    fi
  done
  if ((${#missing[@]} > 0)); then
    die "missing environment variable(s): ${missing[*]} (see the header of $(basename "$0"))"
  fi
}

# require_match NAME REGEX WHAT : fail unless the variable's value matches the (bash ERE) regex.
require_match() {
  local name="$1" regex="$2" what="$3"
  if [[ ! "${!name}" =~ $regex ]]; then
    die "$name='${!name}' is not $what"
  fi
}

# require_cmd COMMAND... : fail when a command the script runs is not on PATH.
require_cmd() {
  local command
  for command in "$@"; do
    if ! command -v "$command" >/dev/null 2>&1; then
      die "'$command' is not on PATH (the CodeBuild project's install phase installs it)"
    fi
  done
}

# require_skopeo_preserve_digests : skopeo copy learned --preserve-digests in 1.6.0; older
# releases (Ubuntu 22.04's apt package is 1.4.1) would fail mid-push with "unknown flag".
require_skopeo_preserve_digests() {
  local help
  help="$(skopeo copy --help 2>/dev/null || true)"
  if [[ "$help" != *--preserve-digests* ]]; then
    die "skopeo $(skopeo --version 2>/dev/null | awk '{print $NF}') has no 'copy --preserve-digests' (added in skopeo 1.6.0): install a newer skopeo"
  fi
}

# require_sha256 FILE SHA256 : fail, saying both digests, unless FILE's sha256 is SHA256 (a pinned
# download is refused before it is unpacked or installed).
require_sha256() {
  local file="$1" expected="$2" actual
  actual="$(sha256sum "$file" | cut -d' ' -f1)"
  if [[ "$actual" != "$expected" ]]; then
    die "${file##*/} has sha256 $actual, not the pinned $expected: not installed"
  fi
}

# Patterns the scripts check their inputs against before using them.
# shellcheck disable=SC2034  # used by the scripts that source this file
readonly DIGEST_RE='^sha256:[0-9a-f]{64}$'
# shellcheck disable=SC2034
readonly SHA256_RE='^[0-9a-f]{64}$'
# An ECR registry host, e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com
# shellcheck disable=SC2034
readonly REGISTRY_RE='^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$'
# An ECR repository namespace (the project name, or the Marketplace seller prefix)
# shellcheck disable=SC2034
readonly REPOSITORY_PREFIX_RE='^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$'
# An AWS region
# shellcheck disable=SC2034
readonly REGION_RE='^[a-z]{2}(-[a-z]+)+-[0-9]+$'

# copy_image NAME DESTINATION DIGEST POLICY WORKDIR FAILURE
# Copies image NAME of the release's images (the OCI image layout at $IMAGES_DIR; every
# platform, digests preserved) to a registry reference, then checks that the registry holds
# exactly the digest the release manifest names. FAILURE is the message when the copy fails.
copy_image() {
  local name="$1" destination="$2" digest="$3" policy="$4" work="$5" failure="$6" pushed read
  # Before anything is pushed: the image skopeo's own reader takes for NAME (its JSON parsing,
  # not the contract check's) is the release's digest.
  if ! skopeo inspect --raw "oci:$IMAGES_DIR:$name" >"$work/inspected"; then
    die "skopeo cannot read image $name in $IMAGES_DIR"
  fi
  read="sha256:$(sha256sum <"$work/inspected" | cut -d' ' -f1)"
  if [[ "$read" != "$digest" ]]; then
    die "skopeo reads image $name in $IMAGES_DIR as $read, but the release says $digest: not pushed"
  fi
  rm -f "$work/digest"
  if ! skopeo --policy "$policy" copy --all --preserve-digests --retry-times 3 \
    --digestfile "$work/digest" "oci:$IMAGES_DIR:$name" "docker://$destination"; then
    die "$failure"
  fi
  pushed="$(cat "$work/digest" 2>/dev/null || true)"
  if [[ "$pushed" != "$digest" ]]; then
    die "copied $destination as '$pushed', but the release says $digest"
  fi
}

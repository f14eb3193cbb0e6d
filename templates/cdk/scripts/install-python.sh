#!/usr/bin/env bash
# install-python.sh: install the release's CDK app's Python packages (cdk/requirements.txt: every
# one pinned by version and sha256) from a wheelhouse kept between releases, downloading from
# the package index only the wheels the wheelhouse lacks.
#
# The UpdatePipeline action keeps WHEELHOUSE in a CodeBuild S3 cache whose key is the sha256 of
# cdk/requirements.txt: the first release with a lock downloads every wheel (about 85 MB, most
# of it aws-cdk-lib and the AWS CLI asset it loads) and CodeBuild saves the folder; later
# releases with the same lock restore it and download nothing. pip installs from the wheelhouse
# only (--no-index) with --require-hashes, so a wheel that is not byte for byte the locked one
# is refused (and fetched again) whatever the cache holds: the cache saves downloads, it is
# never trusted.
#
# Environment:
#   WHEELHOUSE     the folder of wheels (the buildspec's cache path); created when missing
#   REQUIREMENTS   optional: default cdk/requirements.txt (in the release)
#   PYTHON         optional: the Python to install into, default python3
#
# Prints what came from where: `==> N wheels: X bytes from the package index, Y bytes from
# <wheelhouse>`. Needs python3 with pip (the CodeBuild standard image has it). Run it locally
# in the extracted release:
#   WHEELHOUSE=~/.cache/pipelinegen-wheels bash cdk/scripts/install-python.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

REQUIREMENTS="${REQUIREMENTS:-cdk/requirements.txt}"
PYTHON="${PYTHON:-python3}"
require_env WHEELHOUSE
require_cmd "$PYTHON"
[[ -f "$REQUIREMENTS" ]] || die "no $REQUIREMENTS: run this in the extracted release"
mkdir -p "$WHEELHOUSE" || die "cannot create the wheelhouse $WHEELHOUSE"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# listing FILE : each wheel in the wheelhouse as `<bytes> <mtime> <name>`, sorted.
listing() {
  find "$WHEELHOUSE" -maxdepth 1 -type f -name '*.whl' -printf '%s %T@ %f\n' | sort -k3 >"$1"
}

# offline : install from the wheelhouse alone; pip checks each wheel against the lock's sha256.
offline() {
  "$PYTHON" -m pip install --quiet --no-compile --disable-pip-version-check \
    --no-index --find-links "$WHEELHOUSE" --require-hashes -r "$REQUIREMENTS"
}

listing "$work/before"
if ! offline 2>"$work/offline.log"; then
  note "the wheelhouse lacks locked wheels: downloading them from the package index"
  # pip keeps a wheel already in the folder when its sha256 is the locked one and fetches it
  # again when not ("has bad hash. Re-downloading").
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --require-hashes -r "$REQUIREMENTS" -d "$WHEELHOUSE" ||
    die "could not download the packages $REQUIREMENTS locks from the package index"
  offline || die "pip could not install $REQUIREMENTS from $WHEELHOUSE"
fi
listing "$work/after"

# A wheel kept from before (same name, size and time) came from the wheelhouse; any other
# wheel there now was downloaded.
read -r wheels fetched cached < <(awk '
  FILENAME == ARGV[1] { kept[$0] = 1; next }
  { wheels++; if ($0 in kept) cached += $1; else fetched += $1 }
  END { printf "%d %d %d\n", wheels, fetched + 0, cached + 0 }
' "$work/before" "$work/after")
note "$wheels wheels: $fetched bytes from the package index, $cached bytes from $WHEELHOUSE"

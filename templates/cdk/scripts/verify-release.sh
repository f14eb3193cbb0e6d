#!/usr/bin/env bash
# verify-release.sh: the handoff contract check on its own, without AWS. Run in the extracted
# release (the folder holding manifest.json); it checks that manifest.json is there and reads as
# format 1, that the release was built from the spec this pipeline was synthesized from, and that
# every image archive is there and holds exactly the image (digest) the manifest names.
#
# Environment:
#   EXPECTED_SPEC_SHA256  sha256 of the pipeline.yaml the pipeline was synthesized from
#
# Needs python3 (3.9+). Run it locally on a downloaded release:
#   unzip release.zip -d release && cd release
#   EXPECTED_SPEC_SHA256="$(sha256sum ../pipeline.yaml | cut -d' ' -f1)" \
#     bash cdk/scripts/verify-release.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env EXPECTED_SPEC_SHA256
require_match EXPECTED_SPEC_SHA256 "$SHA256_RE" "a sha256 (64 lowercase hex digits)"
require_cmd python3

python3 "$here/release.py" verify --expected-spec-sha256 "$EXPECTED_SPEC_SHA256" || exit

#!/usr/bin/env bash
# verify-release.sh: the handoff contract check on its own, without AWS. Run in the extracted
# release (the folder holding manifest.json); it checks that manifest.json is there and reads as
# format 2, that the release was built from the spec this pipeline was synthesized from, and that
# the release's images (one OCI image layout) name exactly the images the manifest does, with its
# digests, and hold every blob they reach.
#
# Environment:
#   EXPECTED_SPEC_SHA256  sha256 of the pipeline.yaml the pipeline was synthesized from
#   IMAGES_DIR            the extracted images zip (the OCI image layout)
#
# Needs python3 (3.9+). Run it locally on a downloaded release:
#   unzip release.zip -d release && unzip release.images.zip -d images && cd release
#   EXPECTED_SPEC_SHA256="$(sha256sum ../pipeline.yaml | cut -d' ' -f1)" IMAGES_DIR=../images \
#     bash cdk/scripts/verify-release.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env EXPECTED_SPEC_SHA256 IMAGES_DIR
require_match EXPECTED_SPEC_SHA256 "$SHA256_RE" "a sha256 (64 lowercase hex digits)"
require_cmd python3

python3 "$here/release.py" verify --expected-spec-sha256 "$EXPECTED_SPEC_SHA256" \
  --images "$IMAGES_DIR" || exit

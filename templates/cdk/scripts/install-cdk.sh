#!/usr/bin/env bash
# install-cdk.sh: install the AWS CDK CLI version that the release's own CDK app asks for, from
# the npm registry, refusing the package unless its sha256 is the one the app pins.
#
# The version is read from the release (cdk/pipeline.json, written by `pipelinegen compile` next
# to the aws-cdk-lib it pins), not fixed in the pipeline: a release built with a newer
# aws-cdk-lib needs a newer CLI ("Cloud assembly schema version mismatch"), and a pipeline that
# installed its own, older CLI would fail at synth before it could update itself. Reading it
# from the release heals an upgrade in that same release.
#
# Environment:
#   PIPELINE_JSON  optional: the app's resolved spec, default cdk/pipeline.json (in the release);
#                  its "cdk_cli" holds {"version": "2.1148.1", "sha256": "<64 hex>"}, the sha256
#                  of https://registry.npmjs.org/aws-cdk/-/aws-cdk-<version>.tgz
#
# Needs python3, npm and sha256sum (the CodeBuild standard image has them). The aws-cdk package
# has no dependencies, so the verified tarball is all that is installed. Run it locally in the
# extracted release (npm's global prefix must be writable, e.g. NPM_CONFIG_PREFIX=~/.local):
#   bash cdk/scripts/install-cdk.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

PIPELINE_JSON="${PIPELINE_JSON:-cdk/pipeline.json}"
require_cmd python3 npm sha256sum
[[ -f "$PIPELINE_JSON" ]] || die "no $PIPELINE_JSON: run this in the extracted release"

# One value per line (line breaks inside a value become spaces, which the checks below refuse).
mapfile -t pins < <(python3 -c '
import json, sys
pin = json.load(open(sys.argv[1])).get("cdk_cli") or {}
for key in ("version", "sha256"):
    print(str(pin.get(key, "")).replace("\n", " "))
' "$PIPELINE_JSON" || echo unreadable)
((${#pins[@]} == 2)) || die "$PIPELINE_JSON is not the JSON that pipelinegen compile writes"
CDK_CLI_VERSION="${pins[0]}"
CDK_CLI_SHA256="${pins[1]}"
# An exact release only: no range, dist-tag, URL or path can reach npm from a release's file.
require_match CDK_CLI_VERSION '^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$' \
  "an exact aws-cdk version such as 2.1148.1 (in $PIPELINE_JSON, cdk_cli.version)"
require_match CDK_CLI_SHA256 "$SHA256_RE" "a sha256 (in $PIPELINE_JSON, cdk_cli.sha256)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="aws-cdk-$CDK_CLI_VERSION.tgz"
note "downloading aws-cdk@$CDK_CLI_VERSION (the CLI this release's CDK app asks for)"
(cd "$work" && npm pack "aws-cdk@$CDK_CLI_VERSION" --silent >/dev/null) ||
  die "could not download aws-cdk@$CDK_CLI_VERSION from the npm registry"
[[ -f "$work/$tarball" ]] || die "npm pack aws-cdk@$CDK_CLI_VERSION wrote no $tarball"
require_sha256 "$work/$tarball" "$CDK_CLI_SHA256"
npm install --global --ignore-scripts --no-audit --no-fund --silent "$work/$tarball" ||
  die "npm could not install $tarball"
installed="$(cdk --version 2>/dev/null | awk '{print $1}')" || true
if [[ "$installed" != "$CDK_CLI_VERSION" ]]; then
  die "the cdk on PATH says it is '$installed', not $CDK_CLI_VERSION (is npm's global bin on PATH?)"
fi
note "aws-cdk $installed installed"

#!/usr/bin/env bash
# render-chart.sh: render the chart for one environment as deploy.sh deploys it (the same values
# files, then the image values with placeholder digests, the same release name and namespace),
# run `helm lint` with the same values, and check that every workload runs the spec's images from
# the pipeline's registry by digest (check_images.py). The CI `chart` job runs it per environment.
#
# Run from the repository root, after `helm dependency build` of the chart.
#
# Environment:
#   CHART         the chart folder
#   HELM_RELEASE  the Helm release name
#   NAMESPACE     the environment's namespace
#   VALUES_FILES  optional: the environment's values files, separated by spaces
#   ECR_REGISTRY  the registry the pipeline pushes to
#   PIPELINE      the CDK app's pipeline.json (the image → values mapping)
#
# Needs python3 (3.9+) and helm (4.x) on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env CHART HELM_RELEASE NAMESPACE ECR_REGISTRY PIPELINE
require_match ECR_REGISTRY "$REGISTRY_RE" "an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)"
require_cmd python3 helm
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

read -r -a files <<<"${VALUES_FILES:-}"
values=()
listed=(--chart "$CHART")
for file in "${files[@]}"; do
  values+=(-f "$file")
  listed+=(--values "$file")
done
python3 "$here/image_values.py" --pipeline "$PIPELINE" --registry "$ECR_REGISTRY" --placeholder \
  --out "$work/images.values.json" "${listed[@]}" || exit
values+=(-f "$work/images.values.json")

helm lint "$CHART" --namespace "$NAMESPACE" "${values[@]}" || die "helm lint $CHART failed"
helm template "$HELM_RELEASE" "$CHART" --namespace "$NAMESPACE" "${values[@]}" \
  >"$work/rendered.yaml" || die "helm template $CHART failed"
python3 "$here/check_images.py" --pipeline "$PIPELINE" --registry "$ECR_REGISTRY" \
  "$work/rendered.yaml" || die "the chart does not run every image by digest: see above"

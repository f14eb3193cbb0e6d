#!/usr/bin/env bash
# render-chart.sh: the chart check for one environment, as the deploy will render it: `helm lint`
# with the environment's values files, then chart_check.py, which renders the chart with the same
# values files, then the image values with placeholder digests, the same release name and
# namespace, as install and as upgrade, with the environment's Kubernetes version and API versions,
# and refuses any image the spec does not account for, any object the environment's access cannot
# create, any API version its Kubernetes version does not serve, and any object of Kubernetes' own
# groups its OpenAPI schemas refuse (kubernetes-validate, which must be installed here: the CI
# `chart` job installs it by hash). The CI `chart` job runs it per environment.
#
# Run from the repository root, after `helm dependency build` of the chart.
#
# Environment:
#   ENVIRONMENT   the environment's name (its entry in pipeline.json)
#   CHART         the chart folder
#   NAMESPACE     the environment's namespace
#   VALUES_FILES  optional: the environment's values files, separated by spaces
#   ECR_REGISTRY  the registry the pipeline pushes to
#   PIPELINE      the CDK app's pipeline.json (the image → values mapping, the environments)
#
# Needs python3 (3.9+) with kubernetes-validate (.github/pipelinegen/chart-requirements.txt) and
# helm (4.x) on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env ENVIRONMENT CHART NAMESPACE ECR_REGISTRY PIPELINE
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
python3 "$here/chart_check.py" --pipeline "$PIPELINE" --environment "$ENVIRONMENT" \
  --chart "$CHART" --registry "$ECR_REGISTRY" --require-schemas "${values[@]}" ||
  die "the chart check refused what $ENVIRONMENT would deploy: see above"

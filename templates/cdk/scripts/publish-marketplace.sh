#!/usr/bin/env bash
# publish-marketplace.sh: publish the release as a new version of an AWS Marketplace container
# product, with a container-image delivery option, a Helm chart delivery option, or both. With
# the Helm option it first packages the release's chart with every mapped image pointing at the
# seller's Marketplace repositories by digest, and checks with `helm template` that the package
# runs no other image (marketplace_chart.py). It checks the change set against the Catalog API's
# limits, copies every image of the release's images to the seller's Marketplace repositories
# (709825985650.dkr.ecr.us-east-1.amazonaws.com/<SELLER_PREFIX>/<image>:<version>, every
# platform, exact digests), pushes the chart as an OCI artifact (`helm push` to
# <SELLER_PREFIX>/<chart name>:<version>), then starts one AddDeliveryOptions change set with
# every delivery option and waits for it (marketplace.py): exit 0 when it SUCCEEDED, 1 when it
# failed, was cancelled or did not finish in time. Safe to run again for the same release:
# images and the chart already there with the same content are skipped (Helm 4 packages
# reproducibly), and the change set's client request token is the same.
#
# Run in the extracted release (the folder holding manifest.json).
#
# Environment:
#   PRODUCT_ID                 the container product, e.g. prod-abcdefghijklm
#   IMAGES_DIR                 the extracted images zip (one OCI image layout, every image named)
#   SELLER_PREFIX              the seller's Marketplace repository prefix
#   DELIVERY_OPTION_TITLE      the delivery option's title (at most 72 characters)
#   COMPATIBLE_SERVICES        comma-separated: ECS, EKS, ECS-Anywhere, EKS-Anywhere,
#                              Bedrock-AgentCore
#   USAGE_INSTRUCTIONS_FILE    a file in the release with the usage instructions (at most 4000
#                              characters)
#   DESCRIPTION                optional: the delivery option's description, default its title
#   RELEASE_NOTES              optional: default "Release <version>"
#   MARKETPLACE_TIMEOUT        optional: seconds to wait for the change set, default 7200 (the
#                              CodeBuild project's timeout is the outer bound)
#   MARKETPLACE_POLL_INTERVAL  optional: seconds between status checks, default 60
#   MARKETPLACE_RETRY_DELAY    optional: seconds before starting again while another change set
#                              holds the product (doubling each time, 6 tries), default 60
#   MARKETPLACE_BUSY_TIMEOUT   optional: seconds to wait, before starting, for other change sets
#                              that hold the product (PREPARING or APPLYING), default 3600; a
#                              change set this release started before is resumed instead
#   CHANGE_SET_ATTEMPT         optional: 1 (default); raise it to publish the same version again
#                              after a change set failed (a new client request token)
#   DELIVERY_OPTIONS           optional: comma-separated container-images and/or helm, default
#                              container-images
#   PIPELINE                   optional: the CDK app's pipeline.json (the image -> values mapping,
#                              the Helm option's settings), default ../pipeline.json beside this
#                              script's folder
#
# Needs python3 (3.9+), aws (CLI v2), skopeo (1.6 or later) and, for the Helm option, helm (4.x)
# on PATH, and credentials that may push to the seller's Marketplace repositories and start and
# describe change sets. Locally:
#   PRODUCT_ID=prod-abcdefghijklm SELLER_PREFIX=acme DELIVERY_OPTION_TITLE="Helm on Amazon EKS" \
#     COMPATIBLE_SERVICES=EKS USAGE_INSTRUCTIONS_FILE=marketplace/docs/marketplace-usage.md \
#     IMAGES_DIR=../images bash cdk/scripts/publish-marketplace.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

readonly MARKETPLACE_REGISTRY=709825985650.dkr.ecr.us-east-1.amazonaws.com
readonly MARKETPLACE_REGION=us-east-1

require_env PRODUCT_ID IMAGES_DIR SELLER_PREFIX DELIVERY_OPTION_TITLE COMPATIBLE_SERVICES \
  USAGE_INSTRUCTIONS_FILE
DESCRIPTION="${DESCRIPTION:-}"
RELEASE_NOTES="${RELEASE_NOTES:-}"
MARKETPLACE_TIMEOUT="${MARKETPLACE_TIMEOUT:-7200}"
MARKETPLACE_POLL_INTERVAL="${MARKETPLACE_POLL_INTERVAL:-60}"
MARKETPLACE_RETRY_DELAY="${MARKETPLACE_RETRY_DELAY:-60}"
MARKETPLACE_BUSY_TIMEOUT="${MARKETPLACE_BUSY_TIMEOUT:-3600}"
CHANGE_SET_ATTEMPT="${CHANGE_SET_ATTEMPT:-1}"
DELIVERY_OPTIONS="${DELIVERY_OPTIONS:-container-images}"
PIPELINE="${PIPELINE:-$here/../pipeline.json}"
require_match PRODUCT_ID '^prod-[a-z0-9]+$' "a Marketplace product ID (prod-...)"
require_match SELLER_PREFIX "$REPOSITORY_PREFIX_RE" "a Marketplace repository prefix"
require_match MARKETPLACE_TIMEOUT '^[0-9]+$' "a number of seconds"
require_match MARKETPLACE_POLL_INTERVAL '^[0-9]+$' "a number of seconds"
require_match MARKETPLACE_RETRY_DELAY '^[0-9]+$' "a number of seconds"
require_match MARKETPLACE_BUSY_TIMEOUT '^[0-9]+$' "a number of seconds"
require_match CHANGE_SET_ATTEMPT '^[1-9][0-9]*$' "a number from 1"
require_match DELIVERY_OPTIONS '^(container-images|helm)(,(container-images|helm))?$' \
  "container-images and/or helm, comma-separated"
helm_option=false
if [[ ",$DELIVERY_OPTIONS," == *,helm,* ]]; then
  helm_option=true
  require_cmd helm
  [[ -f "$PIPELINE" ]] || die "PIPELINE '$PIPELINE' is not a file"
fi
[[ -f "$USAGE_INSTRUCTIONS_FILE" ]] ||
  die "USAGE_INSTRUCTIONS_FILE '$USAGE_INSTRUCTIONS_FILE' is not a file in the release"
require_cmd python3 aws skopeo sha256sum
require_skopeo_preserve_digests

version="$(python3 "$here/release.py" get version)" || exit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/release.py" images --images "$IMAGES_DIR" >"$work/images.tsv" || exit
mapfile -t images <"$work/images.tsv"

# The chart and the change set first: a limit either breaks fails the run before anything is
# copied.
helm_args=()
if [[ "$helm_option" == true ]]; then
  note "packaging the chart for AWS Marketplace"
  mkdir "$work/chart"
  packaged="$(python3 "$here/marketplace_chart.py" package --pipeline "$PIPELINE" --release . \
    --registry "$MARKETPLACE_REGISTRY" --prefix "$SELLER_PREFIX" --out "$work/chart")" || exit
  IFS=$'\t' read -r chart_name chart_version chart_package <<<"$packaged"
  chart_repository="$MARKETPLACE_REGISTRY/$SELLER_PREFIX/$chart_name"
  helm_args=(--pipeline "$PIPELINE" --helm-chart-uri "$chart_repository:$chart_version")
fi
image_args=()
for line in "${images[@]}"; do
  IFS=$'\t' read -r name _digest <<<"$line"
  image_args+=(--image "$MARKETPLACE_REGISTRY/$SELLER_PREFIX/$name:$version")
done
python3 "$here/marketplace.py" changeset --product-id "$PRODUCT_ID" --version "$version" \
  --title "$DELIVERY_OPTION_TITLE" --release-notes "$RELEASE_NOTES" \
  --compatible-services "$COMPATIBLE_SERVICES" --usage-instructions-file "$USAGE_INSTRUCTIONS_FILE" \
  --description "$DESCRIPTION" --delivery-options "$DELIVERY_OPTIONS" "${helm_args[@]}" \
  "${image_args[@]}" >"$work/changeset.json" || exit

export REGISTRY_AUTH_FILE="$work/auth.json"
export HELM_REGISTRY_CONFIG="$work/helm-registry.json"
policy="$here/policy.json" # accepts only OCI image layout sources: see verify-and-push.sh
note "logging in to $MARKETPLACE_REGISTRY"
if ! aws ecr get-login-password --region "$MARKETPLACE_REGION" |
  skopeo login --username AWS --password-stdin "$MARKETPLACE_REGISTRY"; then
  die "could not log in to $MARKETPLACE_REGISTRY"
fi
if [[ "$helm_option" == true ]] && ! aws ecr get-login-password --region "$MARKETPLACE_REGION" |
  helm registry login --username AWS --password-stdin "$MARKETPLACE_REGISTRY"; then
  die "helm could not log in to $MARKETPLACE_REGISTRY"
fi

for line in "${images[@]}"; do
  IFS=$'\t' read -r name digest <<<"$line"
  if [[ ! "$digest" =~ $DIGEST_RE ]]; then
    die "image $name has digest '$digest', which is not a sha256 digest"
  fi
  destination="$MARKETPLACE_REGISTRY/$SELLER_PREFIX/$name:$version"
  # A tag already there (a retried run) is kept when it is this very image, and never replaced.
  if skopeo inspect --raw "docker://$destination" >"$work/remote.json" 2>/dev/null; then
    existing="sha256:$(sha256sum <"$work/remote.json" | cut -d' ' -f1)"
    if [[ "$existing" == "$digest" ]]; then
      note "$destination already holds $digest: skipped"
      continue
    fi
    die "$destination already holds $existing, not this release's $digest: publish a new version"
  fi
  note "copying $name to $destination"
  copy_image "$name" "$destination" "$digest" "$policy" "$work" \
    "could not copy $name to $destination (is $SELLER_PREFIX/$name a repository of product $PRODUCT_ID?)"
done

if [[ "$helm_option" == true ]]; then
  destination="$chart_repository:$chart_version"
  # The chart, like the images: a tag already there is kept when it is this very package.
  if ! skopeo inspect --raw "docker://$destination" >"$work/chart.json" 2>/dev/null; then
    note "pushing $(basename "$chart_package") to oci://$MARKETPLACE_REGISTRY/$SELLER_PREFIX"
    helm push "$chart_package" "oci://$MARKETPLACE_REGISTRY/$SELLER_PREFIX" ||
      die "could not push the chart to $destination (is $SELLER_PREFIX/$chart_name a repository of product $PRODUCT_ID?)"
    skopeo inspect --raw "docker://$destination" >"$work/chart.json" ||
      die "the registry does not show the pushed chart $destination"
  fi
  chart_digest="$(python3 "$here/marketplace_chart.py" pushed --manifest "$work/chart.json" \
    --package "$chart_package")" || exit
  note "$destination holds the chart as $chart_digest"
fi

note "publishing $version of $PRODUCT_ID"
python3 "$here/marketplace.py" publish --changeset "$work/changeset.json" \
  --product-id "$PRODUCT_ID" --version "$version" --attempt "$CHANGE_SET_ATTEMPT" \
  --timeout "$MARKETPLACE_TIMEOUT" --interval "$MARKETPLACE_POLL_INTERVAL" \
  --retry-delay "$MARKETPLACE_RETRY_DELAY" --busy-timeout "$MARKETPLACE_BUSY_TIMEOUT" || exit

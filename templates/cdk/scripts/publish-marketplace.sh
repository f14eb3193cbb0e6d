#!/usr/bin/env bash
# publish-marketplace.sh: publish the release as a new version of an AWS Marketplace container
# product. It checks the change set against the Catalog API's limits first, copies every image
# archive to the seller's Marketplace repositories
# (709825985650.dkr.ecr.us-east-1.amazonaws.com/<SELLER_PREFIX>/<image>:<version>, every
# platform, exact digests), then starts an AddDeliveryOptions change set and waits for it
# (marketplace.py): exit 0 when it SUCCEEDED, 1 when it failed, was cancelled or did not finish
# in time. Safe to run again for the same release: images already there with the same digest
# are skipped, and the change set's client request token is the same.
#
# Run in the extracted release (the folder holding manifest.json).
#
# Environment:
#   PRODUCT_ID                 the container product, e.g. prod-abcdefghijklm
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
#   CHANGE_SET_ATTEMPT         optional: 1 (default); raise it to publish the same version again
#                              after a change set failed (a new client request token)
#
# Needs python3 (3.9+), aws (CLI v2) and skopeo (1.6 or later) on PATH, and credentials that may
# push to the seller's Marketplace repositories and start and describe change sets. Locally:
#   PRODUCT_ID=prod-abcdefghijklm SELLER_PREFIX=acme DELIVERY_OPTION_TITLE="Helm on Amazon EKS" \
#     COMPATIBLE_SERVICES=EKS USAGE_INSTRUCTIONS_FILE=marketplace/docs/marketplace-usage.md \
#     bash cdk/scripts/publish-marketplace.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

readonly MARKETPLACE_REGISTRY=709825985650.dkr.ecr.us-east-1.amazonaws.com
readonly MARKETPLACE_REGION=us-east-1

require_env PRODUCT_ID SELLER_PREFIX DELIVERY_OPTION_TITLE COMPATIBLE_SERVICES \
  USAGE_INSTRUCTIONS_FILE
DESCRIPTION="${DESCRIPTION:-}"
RELEASE_NOTES="${RELEASE_NOTES:-}"
MARKETPLACE_TIMEOUT="${MARKETPLACE_TIMEOUT:-7200}"
MARKETPLACE_POLL_INTERVAL="${MARKETPLACE_POLL_INTERVAL:-60}"
MARKETPLACE_RETRY_DELAY="${MARKETPLACE_RETRY_DELAY:-60}"
CHANGE_SET_ATTEMPT="${CHANGE_SET_ATTEMPT:-1}"
require_match PRODUCT_ID '^prod-[a-z0-9]+$' "a Marketplace product ID (prod-...)"
require_match SELLER_PREFIX "$REPOSITORY_PREFIX_RE" "a Marketplace repository prefix"
require_match MARKETPLACE_TIMEOUT '^[0-9]+$' "a number of seconds"
require_match MARKETPLACE_POLL_INTERVAL '^[0-9]+$' "a number of seconds"
require_match MARKETPLACE_RETRY_DELAY '^[0-9]+$' "a number of seconds"
require_match CHANGE_SET_ATTEMPT '^[1-9][0-9]*$' "a number from 1"
[[ -f "$USAGE_INSTRUCTIONS_FILE" ]] ||
  die "USAGE_INSTRUCTIONS_FILE '$USAGE_INSTRUCTIONS_FILE' is not a file in the release"
require_cmd python3 aws skopeo sha256sum
require_skopeo_preserve_digests

version="$(python3 "$here/release.py" get version)" || exit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/release.py" images >"$work/images.tsv" || exit
mapfile -t images <"$work/images.tsv"

# The change set first: a limit it breaks fails the run before any image is copied.
image_args=()
for line in "${images[@]}"; do
  IFS=$'\t' read -r name _archive _digest <<<"$line"
  image_args+=(--image "$MARKETPLACE_REGISTRY/$SELLER_PREFIX/$name:$version")
done
python3 "$here/marketplace.py" changeset --product-id "$PRODUCT_ID" --version "$version" \
  --title "$DELIVERY_OPTION_TITLE" --release-notes "$RELEASE_NOTES" \
  --compatible-services "$COMPATIBLE_SERVICES" --usage-instructions-file "$USAGE_INSTRUCTIONS_FILE" \
  --description "$DESCRIPTION" "${image_args[@]}" >"$work/changeset.json" || exit

export REGISTRY_AUTH_FILE="$work/auth.json"
policy="$here/policy.json" # accepts only oci-archive sources: see verify-and-push.sh
note "logging in to $MARKETPLACE_REGISTRY"
if ! aws ecr get-login-password --region "$MARKETPLACE_REGION" |
  skopeo login --username AWS --password-stdin "$MARKETPLACE_REGISTRY"; then
  die "could not log in to $MARKETPLACE_REGISTRY"
fi

for line in "${images[@]}"; do
  IFS=$'\t' read -r name archive digest <<<"$line"
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
  note "copying $archive to $destination"
  copy_archive "$archive" "$destination" "$digest" "$policy" "$work" \
    "could not copy $archive to $destination (is $SELLER_PREFIX/$name a repository of product $PRODUCT_ID?)"
done

note "publishing $version of $PRODUCT_ID"
python3 "$here/marketplace.py" publish --changeset "$work/changeset.json" \
  --product-id "$PRODUCT_ID" --version "$version" --attempt "$CHANGE_SET_ATTEMPT" \
  --timeout "$MARKETPLACE_TIMEOUT" --interval "$MARKETPLACE_POLL_INTERVAL" \
  --retry-delay "$MARKETPLACE_RETRY_DELAY" || exit

#!/usr/bin/env bash
# verify-and-push.sh: check the release against the handoff contract (verify-release.sh), then
# push every image of the release's images to its ECR repository <ECR_PREFIX>/<image>, tagged with the release
# version. The copy keeps every platform and the exact digests (skopeo copy --all
# --preserve-digests), so what was built is what gets deployed. Safe to run again: a tag that
# already holds this release's digest is skipped; a tag that holds another digest is an error
# (the repositories' tags are immutable).
#
# Run in the extracted release (the folder holding manifest.json).
#
# Environment:
#   EXPECTED_SPEC_SHA256  sha256 of the pipeline.yaml the pipeline was synthesized from
#   IMAGES_DIR            the extracted images zip (one OCI image layout, every image named)
#   ECR_REGISTRY          the registry host, e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com
#   ECR_PREFIX            the repositories' namespace: the project name
#   AWS_REGION            the registry's region (CodeBuild sets it)
#
# Needs python3 (3.9+), aws (CLI v2) and skopeo (1.6 or later) on PATH, and credentials that may
# push to the repositories and call ecr:DescribeImages. Run it locally, in the extracted release:
#   EXPECTED_SPEC_SHA256=<64 hex> IMAGES_DIR=../images ECR_REGISTRY=111111111111.dkr.ecr.us-east-1.amazonaws.com \
#     ECR_PREFIX=acme-platform AWS_REGION=us-east-1 bash cdk/scripts/verify-and-push.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env EXPECTED_SPEC_SHA256 IMAGES_DIR ECR_REGISTRY ECR_PREFIX AWS_REGION
require_match ECR_REGISTRY "$REGISTRY_RE" "an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)"
require_match ECR_PREFIX "$REPOSITORY_PREFIX_RE" "an ECR repository namespace"
require_match AWS_REGION "$REGION_RE" "an AWS region"
require_cmd python3 aws skopeo

bash "$here/verify-release.sh" || exit

require_skopeo_preserve_digests
version="$(python3 "$here/release.py" get version)" || exit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/release.py" images --images "$IMAGES_DIR" >"$work/images.tsv" || exit
mapfile -t images <"$work/images.tsv"

# The registry credentials live only in this run's temporary folder.
export REGISTRY_AUTH_FILE="$work/auth.json"
# The trust policy accepts images read from an OCI image layout (this release's own images,
# whose digests were just checked against the manifest) and rejects every other source. That is what
# --insecure-policy would allow here, minus any other source, and unlike --insecure-policy it is
# written down, reviewable and can be tightened (e.g. to require signatures) in one place.
policy="$here/policy.json"

note "logging in to $ECR_REGISTRY"
if ! aws ecr get-login-password --region "$AWS_REGION" |
  skopeo login --username AWS --password-stdin "$ECR_REGISTRY"; then
  die "could not log in to $ECR_REGISTRY (does this role have ecr:GetAuthorizationToken?)"
fi

# tag_digest REPOSITORY: set $existing to the digest the release tag points at in REPOSITORY,
# or to "" when the tag is not there yet.
tag_digest() {
  local repository="$1" output
  if output="$(aws ecr describe-images --region "$AWS_REGION" --repository-name "$repository" \
    --image-ids "imageTag=$version" --query 'imageDetails[0].imageDigest' --output text \
    2>"$work/aws.err")"; then
    existing="$output"
    if [[ ! "$existing" =~ $DIGEST_RE ]]; then
      die "ECR says $repository:$version has digest '$existing', which is not a sha256 digest"
    fi
  elif grep -q 'ImageNotFoundException' "$work/aws.err"; then
    existing=""
  elif grep -q 'RepositoryNotFoundException' "$work/aws.err"; then
    cat "$work/aws.err" >&2
    die "there is no ECR repository $repository: the pipeline stack creates one per image of the spec (deploy the stack when an image was added)"
  else
    cat "$work/aws.err" >&2
    die "could not look up $repository:$version in ECR"
  fi
}

pushed=0
skipped=0
for line in "${images[@]}"; do
  IFS=$'\t' read -r name digest <<<"$line"
  if [[ ! "$digest" =~ $DIGEST_RE ]]; then
    die "image $name has digest '$digest', which is not a sha256 digest"
  fi
  repository="$ECR_PREFIX/$name"
  destination="$ECR_REGISTRY/$repository:$version"
  existing=""
  tag_digest "$repository"
  if [[ "$existing" == "$digest" ]]; then
    note "$destination already holds $digest: skipped"
    skipped=$((skipped + 1))
    continue
  fi
  if [[ -n "$existing" ]]; then
    die "$destination already holds $existing, but this release's $name is $digest: the repository's tags are immutable, so release under a new version"
  fi
  note "pushing $name to $destination"
  copy_image "$name" "$destination" "$digest" "$policy" "$work" \
    "could not push $name to $destination"
  pushed=$((pushed + 1))
done

note "release $version: $pushed image(s) pushed, $skipped already in ECR"

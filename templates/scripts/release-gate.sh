#!/usr/bin/env bash
# release-gate.sh: may this repository release this commit? The release workflow's first job runs
# it from a checkout of the tagged commit, before anything is built or uploaded. Locally:
#
#   EXPECTED_REPOSITORY=acme/platform GITHUB_REPOSITORY=acme/platform \
#   GITHUB_SHA="$(git rev-parse HEAD)" DEFAULT_BRANCH=main bash release-gate.sh
#
# Environment:
#   EXPECTED_REPOSITORY  the spec's github.repository
#   GITHUB_REPOSITORY    where the workflow runs, as GitHub spells it (set by GitHub Actions)
#   GITHUB_SHA           the commit or tag object being released (set by GitHub Actions)
#   DEFAULT_BRANCH       when set, the commit must be reachable from origin/<DEFAULT_BRANCH>
#                        (the checkout must hold that branch's history: fetch-depth 0)
#
# Exit status 0 when the release may proceed; 1, with an `::error::` line saying why, otherwise.
set -euo pipefail

fail() {
  echo "::error title=release refused::$1" >&2
  exit 1
}

: "${EXPECTED_REPOSITORY:?set EXPECTED_REPOSITORY to github.repository of the spec}"
: "${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY to owner/name}"
: "${GITHUB_SHA:?set GITHUB_SHA to the commit to release}"

# AWS compares the OIDC subject case-sensitively with GitHub's canonical owner/name, so a spec
# that spells it in another case would be denied at the upload: say so before anything is built.
if [ "$GITHUB_REPOSITORY" != "$EXPECTED_REPOSITORY" ]; then
  if [ "${GITHUB_REPOSITORY,,}" = "${EXPECTED_REPOSITORY,,}" ]; then
    fail "the spec's github.repository is '$EXPECTED_REPOSITORY' but GitHub spells this repository '$GITHUB_REPOSITORY'; the upload role compares the name case-sensitively, so write github.repository: $GITHUB_REPOSITORY in the spec and compile again"
  fi
  fail "this workflow runs in '$GITHUB_REPOSITORY' but the spec's github.repository is '$EXPECTED_REPOSITORY'; only that repository can release"
fi

if [ -n "${DEFAULT_BRANCH:-}" ]; then
  branch="refs/remotes/origin/$DEFAULT_BRANCH"
  if ! git rev-parse --verify --quiet "$branch^{commit}" >/dev/null; then
    fail "the checkout has no '$branch' to check the tagged commit against; check out with fetch-depth: 0"
  fi
  if ! commit="$(git rev-parse --verify --quiet "$GITHUB_SHA^{commit}")"; then
    fail "'$GITHUB_SHA' is not a commit of this checkout"
  fi
  if ! git merge-base --is-ancestor "$commit" "$branch"; then
    fail "commit $commit is not on the default branch '$DEFAULT_BRANCH'; merge it, tag the merged commit, and push that tag (or set release.require_default_branch: false in the spec)"
  fi
  echo "release-gate: $commit is on '$DEFAULT_BRANCH'"
fi
echo "release-gate: $GITHUB_REPOSITORY may release"

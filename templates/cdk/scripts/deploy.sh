#!/usr/bin/env bash
# deploy.sh: deploy the release to one environment with Helm: `helm upgrade --install` of the
# release's chart, with the environment's values files and every image pinned to the digest that
# was pushed, at the values paths the spec maps for it (image_values.py), waiting until the workloads are ready
# and rolling back when they are not (Helm 4's --rollback-on-failure, which waits with the
# `watcher` strategy: every resource's status, not only hooks).
#
# A release left pending-install, pending-upgrade or pending-rollback (a Helm process killed or
# timed out midway) blocks every later upgrade with "another operation is in progress". The
# pipeline runs one execution at a time (QUEUED), so no other deploy of this release can be
# running: such a release is first rolled back to its last deployed revision; with none to go
# back to, the deploy stops and prints the exact command to run. Every failure says what Helm's
# history shows actually happened.
#
# It first assumes DEPLOY_ROLE_ARN (the role in the environment's account that may describe the
# cluster and has an EKS access entry), unless the caller already is that role, and runs
# everything after as that role: `aws eks
# update-kubeconfig --role-arn` would only use the role for the cluster token, and describe the
# cluster with the caller's own credentials, which cannot see a cluster in another account.
#
# Run in the extracted release (the folder holding manifest.json).
#
# Environment:
#   ENVIRONMENT       the environment's name (for logs and the kube context name)
#   CLUSTER           the EKS cluster name
#   CLUSTER_REGION    the cluster's region
#   NAMESPACE         the Kubernetes namespace of the Helm release
#   DEPLOY_ROLE_ARN   the role to assume in the environment's account
#   HELM_RELEASE      the Helm release name
#   ECR_REGISTRY      the registry the images were pushed to (<account>.dkr.ecr.<region>.amazonaws.com)
#   ECR_PREFIX        the repositories' namespace: the project name
#   VALUES_FILES      optional: the environment's values files, paths inside the release separated
#                     by spaces, applied in order after the chart's own values
#   HELM_TIMEOUT      optional: how long Helm waits (a Go duration), default 10m
#   CREATE_NAMESPACE  optional: "true" to let Helm create the namespace, default "false": the
#                     deploy role's access is limited to the namespace, which cannot create it
#
# Needs python3 (3.9+), aws (CLI v2) and helm (4.x, see install-helm.sh) on PATH. Run it locally
# in the extracted release, with credentials that may assume the deploy role:
#   ENVIRONMENT=staging CLUSTER=acme-staging CLUSTER_REGION=us-east-1 NAMESPACE=platform \
#     DEPLOY_ROLE_ARN=arn:aws:iam::222222222222:role/acme-platform-deploy-staging \
#     HELM_RELEASE=platform ECR_REGISTRY=111111111111.dkr.ecr.us-east-1.amazonaws.com \
#     ECR_PREFIX=acme-platform VALUES_FILES=chart/deploy/helm/values-staging.yaml \
#     bash cdk/scripts/deploy.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env ENVIRONMENT CLUSTER CLUSTER_REGION NAMESPACE DEPLOY_ROLE_ARN HELM_RELEASE \
  ECR_REGISTRY ECR_PREFIX
VALUES_FILES="${VALUES_FILES:-}"
HELM_TIMEOUT="${HELM_TIMEOUT:-10m}"
CREATE_NAMESPACE="${CREATE_NAMESPACE:-false}"
require_match ENVIRONMENT '^[a-z][a-z0-9-]{0,31}$' "an environment name"
require_match CLUSTER '^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$' "an EKS cluster name"
require_match CLUSTER_REGION "$REGION_RE" "an AWS region"
require_match NAMESPACE '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' "a Kubernetes namespace"
require_match DEPLOY_ROLE_ARN '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$' \
  "an IAM role ARN"
require_match HELM_RELEASE '^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$' "a Helm release name"
require_match ECR_REGISTRY "$REGISTRY_RE" "an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)"
require_match ECR_PREFIX "$REPOSITORY_PREFIX_RE" "an ECR repository namespace"
require_match HELM_TIMEOUT '^([0-9]+(ns|us|ms|s|m|h))+$' "a duration such as 10m or 1h30m"
require_match CREATE_NAMESPACE '^(true|false)$' "true or false"
require_cmd python3 aws helm

version="$(python3 "$here/release.py" get version)" || exit
chart="$(python3 "$here/release.py" get chart)" || exit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The images' entries of the manifest, checked; not their archives: this action reads the
# release less its images (the Deployment artifact the push action wrote after checking them).
python3 "$here/release.py" digests >/dev/null || exit

read -r -a values <<<"$VALUES_FILES"
for file in "${values[@]}"; do
  case "$file" in
    /* | ../* | */../* | *..) die "values file '$file' is not a path inside the release" ;;
    *,*) die "values file '$file' has a comma, which helm's --values would split into two files" ;;
  esac
  [[ -f "$file" ]] || die "values file '$file' is not in the release"
done

# Everything from here on runs as the deploy role, the cluster token included. A caller that
# already is the deploy role (the release workflow's deploy job, which assumed it by GitHub OIDC
# with `delivery: github`) keeps its credentials: assuming the role again would need the role
# to trust itself.
[[ "$DEPLOY_ROLE_ARN" =~ ^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(.*/)?([^/]+)$ ]]
as_deploy_role="arn:${BASH_REMATCH[1]}:sts::${BASH_REMATCH[2]}:assumed-role/${BASH_REMATCH[4]}/"
caller="$(aws sts get-caller-identity --query Arn --output text)" ||
  die "could not read the caller's identity (are AWS credentials set?)"
if [[ "$caller" == "$as_deploy_role"* ]]; then
  note "already running as $DEPLOY_ROLE_ARN"
else
  note "assuming $DEPLOY_ROLE_ARN"
  if ! credentials="$(aws sts assume-role --region "$CLUSTER_REGION" --role-arn "$DEPLOY_ROLE_ARN" \
    --role-session-name "pipelinegen-deploy-$ENVIRONMENT" --duration-seconds 3600 \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)"; then
    die "could not assume $DEPLOY_ROLE_ARN (is the environment's target stack deployed?)"
  fi
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<<"$credentials"
  if [[ -z "$AWS_SESSION_TOKEN" ]]; then
    die "sts assume-role returned no credentials for $DEPLOY_ROLE_ARN"
  fi
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  unset AWS_PROFILE
fi

export KUBECONFIG="$work/kubeconfig"
context="pipelinegen-$ENVIRONMENT"
note "connecting to EKS cluster $CLUSTER ($CLUSTER_REGION)"
aws eks update-kubeconfig --region "$CLUSTER_REGION" --name "$CLUSTER" --alias "$context" \
  --kubeconfig "$KUBECONFIG" || die "could not get a kubeconfig for EKS cluster $CLUSTER"

# release_state: set $state to "<last revision> <its status> <last deployed revision or ->
# <how the last revision came about>" from helm history, "absent" when the release does not
# exist, or "unknown" when the history cannot be read.
release_state() {
  local history="$work/history.json"
  if ! helm history "$HELM_RELEASE" --namespace "$NAMESPACE" --kube-context "$context" \
    --max 20 --output json >"$history" 2>"$work/history.err"; then
    if grep -q 'release: not found' "$work/history.err"; then
      state=absent
    else
      state=unknown
    fi
    return 0
  fi
  state="$(python3 -c '
import json, sys
entries = sorted(json.load(open(sys.argv[1])) or [], key=lambda e: e["revision"])
if not entries:
    print("absent")
    sys.exit()
last = entries[-1]
deployed = [e["revision"] for e in entries[:-1] if e["status"] in ("deployed", "superseded")]
if last["status"] == "deployed":
    deployed = [last["revision"]]
how = "rollback" if str(last.get("description", "")).startswith("Rollback to") else "change"
print(last["revision"], last["status"], deployed[-1] if deployed else "-", how)
' "$history")" || state=unknown
}

# recover_pending_release: roll a release left pending-* back to its last deployed revision, or
# stop with the exact command to run; a release in any other state is left as it is.
recover_pending_release() {
  local state revision status deployed _how command
  release_state
  read -r revision status deployed _how <<<"$state"
  case "$status" in
    pending-install | pending-upgrade | pending-rollback) ;;
    *) return 0 ;;
  esac
  if [[ "$deployed" == - ]]; then
    command="helm uninstall $HELM_RELEASE --namespace $NAMESPACE"
    die "release $HELM_RELEASE in $CLUSTER/$NAMESPACE is $status at revision $revision and was never deployed, so there is nothing to roll back to; nothing was changed. Check that no one else is deploying it, then run \`$command\` (it deletes what the unfinished install created) and retry this stage"
  fi
  note "release $HELM_RELEASE is $status at revision $revision (a Helm run was interrupted): rolling back to revision $deployed"
  if ! helm rollback "$HELM_RELEASE" "$deployed" --namespace "$NAMESPACE" --kube-context "$context" \
    --wait --timeout "$HELM_TIMEOUT"; then
    command="helm rollback $HELM_RELEASE $deployed --namespace $NAMESPACE --wait --timeout $HELM_TIMEOUT"
    release_state
    die "release $HELM_RELEASE in $CLUSTER/$NAMESPACE was $status at revision $revision; rolling it back to revision $deployed failed (helm history now says: ${state}); $version was not deployed. Run \`$command\` and retry this stage"
  fi
  note "release $HELM_RELEASE rolled back to revision $deployed"
}

# after_failure: what helm history says happened after a failed upgrade, in words.
after_failure() {
  local state revision status deployed how
  release_state
  case "$state" in
    absent) echo "the release does not exist: the failed first install was removed, so nothing is deployed" && return ;;
    unknown) echo "its state is unknown (helm history could not be read); see the output above" && return ;;
  esac
  read -r revision status deployed how <<<"$state"
  local back="\`helm rollback $HELM_RELEASE $deployed --namespace $NAMESPACE\`"
  if [[ "$deployed" == - ]]; then
    back="\`helm uninstall $HELM_RELEASE --namespace $NAMESPACE\` (no revision was ever deployed)"
  fi
  case "$status:$how" in
    deployed:rollback) echo "it was rolled back: revision $revision is deployed again with the previous release's chart and values; see the output above" ;;
    deployed:*) echo "revision $revision is deployed, but helm reported a failure; see the output above" ;;
    pending-*) echo "it is left $status at revision $revision and was NOT rolled back: retrying this stage recovers it, or run $back" ;;
    *) echo "revision $revision is $status and was NOT rolled back: run $back" ;;
  esac
}

helm version --short || die "helm does not run"
# The release carries the complete chart: every dependency was packaged into charts/ at release
# time (and listed in the manifest), so nothing is fetched here. A dependency Helm does not find
# there means the release is incomplete.
python3 "$here/release.py" dependencies >/dev/null || exit # each archive against its digest
if grep -Eq '^dependencies:' "$chart/Chart.yaml" || [[ -f "$chart/requirements.yaml" ]]; then
  helm dependency list "$chart" >"$work/dependencies.txt" ||
    die "helm dependency list $chart failed"
  absent="$(awk 'NR > 1 && NF && $NF != "ok" && $NF != "unpacked" { printf "%s%s (%s)", sep, $1, $NF; sep = ", " }' \
    "$work/dependencies.txt")"
  if [[ -n "$absent" ]]; then
    die "the release's chart lacks dependencies: $absent: release again (the release job packages every dependency)"
  fi
fi

# Every image, pinned by digest, at the values paths pipeline.json maps for it (see
# image_values.py); passed last, so it wins over the environment's values files.
python3 "$here/image_values.py" --pipeline "$here/../pipeline.json" --registry "$ECR_REGISTRY" \
  --release . --out "$work/images.values.json" || exit

args=(upgrade --install "$HELM_RELEASE" "$chart" --namespace "$NAMESPACE" --kube-context "$context")
if [[ "$CREATE_NAMESPACE" == true ]]; then
  args+=(--create-namespace)
fi
for file in "${values[@]}"; do
  args+=(-f "$file")
done
args+=(-f "$work/images.values.json")
args+=(--rollback-on-failure --wait=watcher --timeout "$HELM_TIMEOUT" --description "pipelinegen $version")

recover_pending_release

note "helm ${args[*]}"
if ! helm "${args[@]}"; then
  printf '\nhelm history %s --namespace %s:\n' "$HELM_RELEASE" "$NAMESPACE" >&2
  helm history "$HELM_RELEASE" --namespace "$NAMESPACE" --kube-context "$context" --max 10 >&2 ||
    true
  die "helm upgrade --install of $HELM_RELEASE $version in $CLUSTER/$NAMESPACE failed; $(after_failure)"
fi
note "$ENVIRONMENT: $HELM_RELEASE $version deployed to $CLUSTER/$NAMESPACE"

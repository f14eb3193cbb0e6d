#!/usr/bin/env bash
# deploy.sh: deploy the release to one environment with Helm: `helm upgrade --install` of the
# release's chart, with the environment's values files and every image pinned to the digest that
# was pushed, at the values paths the spec maps for it (image_values.py), waiting until the workloads are ready
# and rolling back when they are not (Helm 4's --rollback-on-failure, waiting with the `watcher`
# strategy: every resource's status, not only hooks; `legacy` for charts whose hook Jobs delete
# themselves, see below).
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
# cluster with the caller's own credentials, which cannot see a cluster in another account. The
# session is renewed whenever the AWS CLI needs credentials (session.sh): a chained session
# lasts one hour at most, and a deploy may not.
#
# Before `helm upgrade`, a preflight stops within seconds, naming the fix, when the cluster's API
# endpoint cannot be reached from where this runs (read from `aws eks describe-cluster`: a
# private-only endpoint without `environments[].network`/`runner`, or public access limited to
# CIDRs), when the namespace does not exist, or when the deploy role may not create a kind the
# chart renders (`kubectl auth can-i create`, per kind): the grant is in cdk/kubernetes/<env>.yaml
# (deploy/cdk/kubernetes/<env>.yaml in the repository), which an admin applies once.
#
# Helm 4 applies server-side and, by default (`--server-side=auto`), as the release was last
# applied (helm/helm v4.1.4 pkg/action/upgrade.go, getUpgradeServerSideValue: "auto" is true only
# when the last release's applyMethod is "ssa"); `helm get metadata` shows that method
# (APPLY_METHOD, pkg/cmd/get_metadata.go). `--force-conflicts` is refused with client-side apply
# ("forceConflicts enabled when serverSideApply disabled", pkg/kube/client.go), which is how a
# release last written by Helm 3 fails with it. So the flags are chosen per release: a new
# release or a server-side one upgrades with `--server-side=true`; a client-side one (Helm 3's,
# or Helm 4's `--server-side=false`) keeps client-side apply, unless FORCE_CONFLICTS moves it to
# server-side apply (Helm then takes over its own client-side field manager: upgrade.go,
# upgradeClientSideFieldManager). A field another manager owns (after `kubectl scale`, an HPA, an
# edit) fails server-side apply with a conflict: the deploy then names the manager and the field,
# and the fix (`environments[].helm.force_conflicts`: `--force-conflicts`, "if set server-side
# apply will force changes against conflicts", pkg/cmd/upgrade.go).
#
# Helm 4.1.4's `watcher` wait strategy waits out the whole timeout for a hook Job that its
# `ttlSecondsAfterFinished` deleted, then rolls back (helm/helm#31786); for a chart with such a
# hook the deploy waits with the `legacy` strategy (Helm 3's waiter, which counts a deleted hook
# as done), and with `watcher` otherwise (cluster_objects.py).
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
#   FORCE_CONFLICTS   optional: "true" to take over fields other field managers own (Helm's
#                     --force-conflicts), default "false" (environments[].helm.force_conflicts)
#   DEPLOY_NETWORK    optional: where this runs: "public" (default: outside the cluster's
#                     network), a VPC ID (environments[].network) or "runner <label>"
#                     (environments[].runner)
#
# Needs python3 (3.9+), aws (CLI v2), helm (4.x, see install-helm.sh) and kubectl (see
# install-kubectl.sh) on PATH. Run it locally
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
FORCE_CONFLICTS="${FORCE_CONFLICTS:-false}"
DEPLOY_NETWORK="${DEPLOY_NETWORK:-public}"
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
require_match FORCE_CONFLICTS '^(true|false)$' "true or false"
require_match DEPLOY_NETWORK '^(public|vpc-[0-9a-f]+|runner [A-Za-z0-9._-]+)$' \
  "public, a VPC ID or 'runner <label>'"
require_cmd python3 aws helm kubectl timeout
# shellcheck source-path=SCRIPTDIR source=session.sh
source "$here/session.sh"
# shellcheck source-path=SCRIPTDIR source=preflight.sh
source "$here/preflight.sh"

version="$(python3 "$here/release.py" get version)" || exit
chart="$(python3 "$here/release.py" get chart)" || exit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The images' entries of the manifest, checked; not the images: this action reads the release
# without them (the push action checked them against the manifest and pushed them).
python3 "$here/release.py" digests >/dev/null || exit

read -r -a values <<<"$VALUES_FILES"
for file in "${values[@]}"; do
  case "$file" in
    /* | ../* | */../* | *..) die "values file '$file' is not a path inside the release" ;;
    *,*) die "values file '$file' has a comma, which helm's --values would split into two files" ;;
  esac
  [[ -f "$file" ]] || die "values file '$file' is not in the release"
done

# Everything from here on runs as the deploy role, the cluster token included.
start_session "$work"

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
# The chart and the values files are read only for a path naming a list element, to set that
# element of the list Helm would use.
listed=(--chart "$chart")
for file in "${values[@]}"; do
  listed+=(--values "$file")
done
python3 "$here/image_values.py" --pipeline "$here/../pipeline.json" --registry "$ECR_REGISTRY" \
  --release . --out "$work/images.values.json" "${listed[@]}" || exit

# The chart check, before anything is applied: the release's chart rendered for this environment
# as install and as upgrade, for its Kubernetes version and API versions, with the release's
# digests; it refuses what the cluster would refuse or run unaccounted for (see chart_check.py).
# It keeps the renders it judged in $work/renders: the preflight asks the cluster about them.
# Here it has no kubernetes-validate (see docs/chart-check.md): the CI `chart` job, which the
# release requires, checked the same chart and values files against the OpenAPI schemas.
checked=()
for file in "${values[@]}"; do
  checked+=(-f "$file")
done
mkdir "$work/renders"
python3 "$here/chart_check.py" --pipeline "$here/../pipeline.json" --environment "$ENVIRONMENT" \
  --chart "$chart" --registry "$ECR_REGISTRY" --prefix "$ECR_PREFIX" --release . \
  --keep "$work/renders" "${checked[@]}" -f "$work/images.values.json" ||
  die "the chart check refused the release for $ENVIRONMENT: see above; nothing was deployed"

values_args=()
for file in "${values[@]}"; do
  values_args+=(-f "$file")
done
values_args+=(-f "$work/images.values.json")

recover_pending_release

# apply_flags: set $apply to Helm's apply flags for this release (see the header), and say why;
# `state` is what the preflight read of it.
apply_flags() {
  local method=new
  if [[ "$state" != absent ]] && ! method="$(helm get metadata "$HELM_RELEASE" \
    --namespace "$NAMESPACE" --kube-context "$context" --output json 2>"$work/metadata.err" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("applyMethod") or "csa")')"; then
    note "could not read how release $HELM_RELEASE was last applied ($(tr '\n' ' ' <"$work/metadata.err")): Helm chooses (--server-side=auto, the last release's method)"
    apply=()
    return 0
  fi
  case "$method:$FORCE_CONFLICTS" in
    new:false | ssa:false) apply=(--server-side=true) ;;
    new:true | ssa:true) apply=(--server-side=true --force-conflicts) ;;
    csa:false)
      note "release $HELM_RELEASE was last applied client-side (Helm 3, or --server-side=false): upgrading client-side, as it was written"
      apply=(--server-side=false)
      ;;
    csa:true)
      note "release $HELM_RELEASE was last applied client-side: moving it to server-side apply, taking over fields other managers own (force_conflicts)"
      apply=(--server-side=true --force-conflicts)
      ;;
    *) die "helm get metadata says release $HELM_RELEASE was applied by '$method', which this deploy does not know" ;;
  esac
}

# conflicts: the field managers and fields a failed server-side apply names, as one sentence.
conflicts() {
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
found = {}
for manager, fields in re.findall(r'conflicts? with "([^"]+)"(?: using [^:]+)?:((?:\s*-?\s*\.[^\s,]+,?)+)', text):
    found.setdefault(manager, set()).update(re.findall(r"\.[^\s,]+", fields))
print("; ".join(f"field manager '{m}' owns {', '.join(sorted(f))}" for m, f in sorted(found.items())))
PY
}

preflight
apply_flags
wait_strategy=watcher
if [[ -n "$ttl_hooks" ]]; then
  note "hook(s) $ttl_hooks delete themselves (ttlSecondsAfterFinished): waiting with Helm's legacy strategy, which Helm 4.1.4's watcher would time out on (helm/helm#31786)"
  wait_strategy=legacy
fi

args=(upgrade --install "$HELM_RELEASE" "$chart" --namespace "$NAMESPACE" --kube-context "$context")
if [[ "$CREATE_NAMESPACE" == true ]]; then
  args+=(--create-namespace)
fi
args+=("${values_args[@]}" "${apply[@]}")
args+=(--rollback-on-failure "--wait=$wait_strategy" --timeout "$HELM_TIMEOUT" --description "pipelinegen $version")

note "helm ${args[*]}"
if ! helm "${args[@]}" 2>"$work/upgrade.err"; then
  cat "$work/upgrade.err" >&2
  printf '\nhelm history %s --namespace %s:\n' "$HELM_RELEASE" "$NAMESPACE" >&2
  helm history "$HELM_RELEASE" --namespace "$NAMESPACE" --kube-context "$context" --max 10 >&2 ||
    true
  owners="$(conflicts "$work/upgrade.err")" || owners=""
  if [[ -n "$owners" ]]; then
    die "helm upgrade --install of $HELM_RELEASE $version in $CLUSTER/$NAMESPACE failed: server-side apply conflicts: $owners (another client changed them: kubectl scale, an HPA, an edit). Stop setting those fields in the chart for this environment, or set environments[].helm.force_conflicts: true to take them over on every upgrade (Helm's --force-conflicts); $(after_failure)"
  fi
  die "helm upgrade --install of $HELM_RELEASE $version in $CLUSTER/$NAMESPACE failed; $(after_failure)"
fi
cat "$work/upgrade.err" >&2
# What runs now is marked in ECR, so the repositories' lifecycle never expires it (running.py).
python3 "$here/running.py" mark --environment "$ENVIRONMENT" --registry "$ECR_REGISTRY" --prefix "$ECR_PREFIX" || exit
note "$ENVIRONMENT: $HELM_RELEASE $version deployed to $CLUSTER/$NAMESPACE"

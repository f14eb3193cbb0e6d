# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # deploy.sh's variables: it sets them before sourcing this, and reads ttl_hooks
# preflight.sh: what deploy.sh checks before `helm upgrade`, each failure naming its fix; sourced
# by deploy.sh after lib.sh, never run on its own. It reads deploy.sh's variables (CLUSTER,
# CLUSTER_REGION, NAMESPACE, ENVIRONMENT, DEPLOY_NETWORK, HELM_RELEASE, context, work, here) and
# the renders the chart check kept in $work/renders, and sets `state` (the release's, see
# release_state) and `ttl_hooks` (the hook Jobs that delete themselves, for the wait strategy).
# Each cluster call gives up after PREFLIGHT_TIMEOUT seconds (default 10), so an unreachable
# endpoint stops the deploy in seconds instead of Helm's whole timeout.

PREFLIGHT_TIMEOUT="${PREFLIGHT_TIMEOUT:-10}"
require_match PREFLIGHT_TIMEOUT '^[1-9][0-9]{0,2}$' "a number of seconds (1-999)"
# kubectl's --request-timeout bounds each request, but `kubectl get` may send several (API
# discovery first), so each call is also ended by coreutils' timeout shortly after.
kubectl_bounded() {
  timeout --kill-after=2 "$((PREFLIGHT_TIMEOUT + 2))" \
    kubectl "$@" --request-timeout "${PREFLIGHT_TIMEOUT}s"
}

# endpoint_access: "<public> <private> <CIDRs, comma-separated> <endpoint>" of the cluster, from
# `aws eks describe-cluster` (EKS API reference, VpcConfigResponse: endpointPublicAccess,
# endpointPrivateAccess, publicAccessCidrs).
endpoint_access() {
  aws eks describe-cluster --region "$CLUSTER_REGION" --name "$CLUSTER" --output json \
    --query 'cluster.{public: resourcesVpcConfig.endpointPublicAccess, private: resourcesVpcConfig.endpointPrivateAccess, cidrs: resourcesVpcConfig.publicAccessCidrs, endpoint: endpoint}' |
    python3 -c '
import json, sys
c = json.load(sys.stdin)
cidrs = ",".join(c.get("cidrs") or ["0.0.0.0/0"])
print(str(c.get("public", True)).lower(), str(c.get("private", False)).lower(), cidrs, c.get("endpoint") or "-")
'
}

# network_fix: what to set so the deploy runs inside the cluster's network.
network_fix() {
  printf 'set environments[].network (delivery: aws: the deploy project then runs in that VPC) or environments[].runner (delivery: github: a runner inside the network) for environment %s; see docs/cluster-access.md#network' "$ENVIRONMENT"
}

# check_endpoint: stop when the endpoint is private only and this runs outside the network.
check_endpoint() {
  local access public _private cidrs endpoint
  access="$(endpoint_access)" || die "could not describe EKS cluster $CLUSTER in $CLUSTER_REGION (does the deploy role have eks:DescribeCluster? is the cluster name right?)"
  read -r public _private cidrs endpoint <<<"$access"
  endpoint_note=""
  if [[ "$public" == false && "$DEPLOY_NETWORK" == public ]]; then
    die "the API endpoint of EKS cluster $CLUSTER ($endpoint) is private only, and this deploy runs outside the cluster's network: $(network_fix)"
  fi
  if [[ "$public" == true && "$cidrs" != 0.0.0.0/0 ]]; then
    endpoint_note="its public endpoint accepts only $cidrs"
    if [[ "$DEPLOY_NETWORK" == public ]]; then
      note "the public API endpoint of $CLUSTER accepts only $cidrs: this deploy must come from one of them"
    fi
  fi
  if [[ "$public" == false ]]; then
    endpoint_note="its endpoint is private; this deploy runs in $DEPLOY_NETWORK, which needs a route to it"
  fi
}

# check_namespace: the cluster answers, knows the deploy role, and has the namespace.
check_namespace() {
  local manifest="cdk/kubernetes/$ENVIRONMENT.yaml"
  local status=0
  kubectl_bounded get namespace "$NAMESPACE" --context "$context" --output name \
    >"$work/namespace.out" 2>"$work/namespace.err" || status=$?
  ((status == 0)) && return 0
  local error
  error="$(tr '\n' ' ' <"$work/namespace.err")"
  ((status == 124 || status == 137)) && error="no answer (ended after $((PREFLIGHT_TIMEOUT + 2)) s) $error"
  case "$error" in
    *NotFound* | *"not found"*)
      [[ "$CREATE_NAMESPACE" == true ]] && return 0
      die "namespace $NAMESPACE does not exist in EKS cluster $CLUSTER: an admin applies $manifest (deploy/cdk/kubernetes/$ENVIRONMENT.yaml in the repository), which creates it with the deploy role's access; see docs/cluster-access.md#bootstrap" ;;
    *Forbidden* | *forbidden*)
      die "the deploy role may not read namespace $NAMESPACE in EKS cluster $CLUSTER: an admin applies $manifest (deploy/cdk/kubernetes/$ENVIRONMENT.yaml in the repository), which binds the role's Kubernetes group; see docs/cluster-access.md#bootstrap" ;;
    *Unauthorized* | *"provide credentials"*)
      die "EKS cluster $CLUSTER does not know the deploy role: deploy the environment's target stack (its access entry), and check the cluster's authentication mode is API or API_AND_CONFIG_MAP; see docs/cluster-access.md#bootstrap" ;;
  esac
  case "$error" in
    "no answer"* | *"Unable to connect"* | *"dial tcp"* | *timeout* | *"deadline exceeded"* | *"no such host"* | *"connection refused"* | *"network is unreachable"* | *EOF*)
      local why="no answer within ${PREFLIGHT_TIMEOUT}s"
      [[ -n "$endpoint_note" ]] && why="$why; $endpoint_note"
      die "cannot reach the API endpoint of EKS cluster $CLUSTER from here ($why): $(network_fix). kubectl said: $error" ;;
  esac
  die "kubectl could not read namespace $NAMESPACE in EKS cluster $CLUSTER: $error"
}

# check_kinds: the deploy role may create every kind the chart renders; sets ttl_hooks. It reads
# the render the chart check judged ($work/renders, with the environment's Kubernetes version and
# API versions), as Helm applies it: a first install also creates the chart's crds/ (Helm
# installs them on install only, never on upgrade: Helm docs, "Custom Resource Definitions"), as
# the deploy role, so those are asked for too; an upgrade leaves them out.
check_kinds() {
  local rendered="$work/renders/install.yaml" kinds resource what answer refused=()
  [[ "$state" != absent ]] && rendered="$work/renders/upgrade.yaml"
  [[ -f "$rendered" ]] || die "the chart check left no render at $rendered"
  python3 "$here/cluster_objects.py" "$rendered" >"$work/objects.tsv" || exit
  ttl_hooks="$(awk -F'\t' '$1 == "ttl-hook" { printf "%s%s", sep, $2; sep = " " }' "$work/objects.tsv")"
  kinds="$(awk -F'\t' -v OFS='\t' '$1 == "kind" { print $2, $3 }' "$work/objects.tsv")"
  while IFS=$'\t' read -r resource what; do
    [[ -n "$resource" ]] || continue
    answer="$(kubectl_bounded auth can-i create "$resource" --namespace "$NAMESPACE" \
      --context "$context" 2>"$work/can-i.err")" || true
    if [[ "$answer" == yes ]]; then
      continue
    fi
    if grep -q "doesn't have a resource type" "$work/can-i.err"; then
      note "$what: the cluster does not serve it yet (its CRD is in the chart?): not checked"
      continue
    fi
    refused+=("$what")
  done <<<"$kinds"
  if ((${#refused[@]} > 0)); then
    local list
    list="$(printf '%s, ' "${refused[@]}")"
    die "the deploy role may not create ${list%, } in EKS cluster $CLUSTER (namespace $NAMESPACE): grant them in environments[].access of environment $ENVIRONMENT (cluster_kinds for cluster-scoped kinds; api_versions for custom resources), compile, and have an admin apply cdk/kubernetes/$ENVIRONMENT.yaml (deploy/cdk/kubernetes/$ENVIRONMENT.yaml in the repository); see docs/cluster-access.md#access-model"
  fi
}

# preflight: the checks above, in order; `state` is the release's (release_state).
preflight() {
  local started=$SECONDS
  release_state
  check_endpoint
  check_namespace
  check_kinds
  note "preflight passed in $((SECONDS - started)) s: endpoint reachable, namespace $NAMESPACE exists, every rendered kind may be created"
}

# shellcheck shell=bash
# shellcheck disable=SC2154  # `here`, deploy.sh's folder, set before it sources this
# session.sh: run everything after it as DEPLOY_ROLE_ARN, with credentials that never expire
# mid-deploy; sourced by deploy.sh (after lib.sh), never run on its own.
#
# A role assumed with another role's credentials (the deploy project's role, in CodeBuild) is a
# chained session, which AWS caps at one hour whatever the role allows ("Use IAM roles": role
# chaining limits a session to 1 hour). A Helm wait, a rollback and the upgrade can outlast it,
# and `aws eks get-token`, which Helm and kubectl run for each cluster token (a token lasts 15
# minutes), would then sign with expired credentials. So the deploy role is not exported once:
# later commands run under an AWS CLI profile whose `credential_process` (deploy-role.sh)
# assumes the role again each time the CLI needs credentials ("Sourcing credentials with an
# external process", AWS CLI User Guide; the CLI calls the process whenever it has none, or
# they near their `Expiration`). The caller's own credentials are kept aside for it, out of the
# environment variables that would otherwise win over the profile.
#
# start_session WORK : assume the role once (to fail early, with the reason), then point the AWS
# CLI at the renewing profile in WORK/aws-config. A caller that already is the deploy role (the
# release workflow's deploy job, by GitHub OIDC with `delivery: github`, whose session lasts as
# long as the job asked) keeps its credentials.
start_session() {
  local work="$1" caller as_deploy_role
  [[ "$DEPLOY_ROLE_ARN" =~ ^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(.*/)?([^/]+)$ ]]
  as_deploy_role="arn:${BASH_REMATCH[1]}:sts::${BASH_REMATCH[2]}:assumed-role/${BASH_REMATCH[4]}/"
  caller="$(aws sts get-caller-identity --query Arn --output text)" ||
    die "could not read the caller's identity (are AWS credentials set?)"
  if [[ "$caller" == "$as_deploy_role"* ]]; then
    note "already running as $DEPLOY_ROLE_ARN"
    return 0
  fi
  note "assuming $DEPLOY_ROLE_ARN (renewed whenever the AWS CLI needs credentials)"
  # The caller's identity, for deploy-role.sh only.
  export PIPELINEGEN_CALLER_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-}"
  export PIPELINEGEN_CALLER_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-}"
  export PIPELINEGEN_CALLER_SESSION_TOKEN="${AWS_SESSION_TOKEN:-}"
  export PIPELINEGEN_CALLER_PROFILE="${AWS_PROFILE:-}"
  export PIPELINEGEN_CALLER_CONFIG_FILE="${AWS_CONFIG_FILE:-}"
  if ! bash "$here/deploy-role.sh" >/dev/null; then
    die "could not assume $DEPLOY_ROLE_ARN (is the environment's target stack deployed?)"
  fi
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  {
    printf '[profile pipelinegen-deploy]\n'
    printf 'credential_process = bash %s/deploy-role.sh\n' "$here"
    printf 'region = %s\n' "$CLUSTER_REGION"
  } >"$work/aws-config"
  export AWS_CONFIG_FILE="$work/aws-config" AWS_PROFILE=pipelinegen-deploy
}

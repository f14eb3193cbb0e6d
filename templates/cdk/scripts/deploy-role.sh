#!/usr/bin/env bash
# deploy-role.sh: assume DEPLOY_ROLE_ARN with the caller's own credentials and print them as the
# AWS CLI's `credential_process` reads them ({"Version": 1, "AccessKeyId", "SecretAccessKey",
# "SessionToken", "Expiration"}; AWS CLI User Guide, "Sourcing credentials with an external
# process"). session.sh points the CLI at it, so every AWS call after deploy.sh's start (the
# cluster tokens Helm and kubectl ask for included) has a live session, however long the deploy.
#
# Environment: DEPLOY_ROLE_ARN, CLUSTER_REGION, ENVIRONMENT as deploy.sh has them, and the
# caller's identity as session.sh keeps it (PIPELINEGEN_CALLER_*: its access key, secret key and
# session token when it had them in variables, its profile and config file); with none of them
# the AWS CLI finds the caller's credentials as usual (CodeBuild's container credentials).
#
# Needs aws (CLI v2). Run it locally to see what the deploy runs as:
#   DEPLOY_ROLE_ARN=arn:aws:iam::222222222222:role/acme-platform-deploy-staging \
#     CLUSTER_REGION=us-east-1 ENVIRONMENT=staging bash deploy-role.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh" # the AWS CLI's retry mode and attempts (lib.sh prints nothing on stdout)

for name in DEPLOY_ROLE_ARN CLUSTER_REGION ENVIRONMENT; do
  if [[ -z "${!name:-}" ]]; then
    printf 'error: deploy-role.sh: %s is not set\n' "$name" >&2
    exit 1
  fi
done
unset AWS_PROFILE AWS_CONFIG_FILE
if [[ -n "${PIPELINEGEN_CALLER_PROFILE:-}" ]]; then
  export AWS_PROFILE="$PIPELINEGEN_CALLER_PROFILE"
fi
if [[ -n "${PIPELINEGEN_CALLER_CONFIG_FILE:-}" ]]; then
  export AWS_CONFIG_FILE="$PIPELINEGEN_CALLER_CONFIG_FILE"
fi
if [[ -n "${PIPELINEGEN_CALLER_ACCESS_KEY_ID:-}" ]]; then
  export AWS_ACCESS_KEY_ID="$PIPELINEGEN_CALLER_ACCESS_KEY_ID"
  export AWS_SECRET_ACCESS_KEY="${PIPELINEGEN_CALLER_SECRET_ACCESS_KEY:-}"
  if [[ -n "${PIPELINEGEN_CALLER_SESSION_TOKEN:-}" ]]; then
    export AWS_SESSION_TOKEN="$PIPELINEGEN_CALLER_SESSION_TOKEN"
  fi
fi
# One hour: the most a chained session may last. (The query's `1` is a JMESPath literal.)
# shellcheck disable=SC2016
exec aws sts assume-role --region "$CLUSTER_REGION" --role-arn "$DEPLOY_ROLE_ARN" \
  --role-session-name "pipelinegen-deploy-$ENVIRONMENT" --duration-seconds 3600 \
  --query '{Version: `1`, AccessKeyId: Credentials.AccessKeyId, SecretAccessKey: Credentials.SecretAccessKey, SessionToken: Credentials.SessionToken, Expiration: Credentials.Expiration}' \
  --output json

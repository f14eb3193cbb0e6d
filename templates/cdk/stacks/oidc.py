"""GitHub Actions' OIDC identity in IAM: the provider, and whom a role trusts through it.

Both delivery modes trust GitHub the same way: the handoff stack's upload role (`delivery: aws`)
and, with `delivery: github`, the push, Marketplace and per-environment deploy roles each trust
only a job of the release workflow that runs, for a release tag, in one GitHub environment.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
CLAIM = "token.actions.githubusercontent.com:"  # IAM's prefix for the token's claims


def github_trust(github: dict[str, Any], environment: str) -> dict[str, dict[str, Any]]:
    """The conditions under which a GitHub OIDC token may assume a role: a job of the release
    workflow in the GitHub environment `environment`, run for a release tag.

    Every condition must hold (IAM ANDs operators and keys; it ORs the values of one key):

    - `aud` is the audience configure-aws-credentials asks for;
    - `sub` is the subject of a job in the environment, in the immutable form
      `repo:OWNER@OWNER_ID/REPO@REPO_ID:environment:ENV` when the IDs are known (then nothing
      else), or else in either GitHub format: the legacy `repo:OWNER/REPO:environment:ENV`
      (repositories created before 2026-07-15) or the immutable one with any IDs;
    - `repository`, `environment`, `ref` and `job_workflow_ref` repeat what the subject implies
      and add what it lacks: the tag (an environment subject carries no ref) and the workflow
      file, so another workflow of the repository cannot assume the role, nor another
      repository whose environment name smuggles in a matching subject for the `@*` form;
    - `repository_id` too, when the IDs are known;
    - `ref` is not a tag with `/`: IAM's `*` matches `/` but GitHub's tag filter `*` does not,
      so without this a tag `v1/x` could assume the role that its workflow never runs for.

    IAM compares all of these case-sensitively. The claim keys beyond `aud` and `sub` are the
    GitHub claims AWS STS accepts as condition keys since January 2026 ("AWS STS supports
    validation of select identity provider specific claims", AWS What's New, 2026-01; IAM User
    Guide, "Available keys for OIDC federation"): actor, actor_id, environment, enterprise_id,
    job_workflow_ref, ref, repository, repository_id and workflow.
    """
    repository = github["repository"]
    owner, name = repository.split("/")
    tag_refs = [f"refs/tags/{pattern}" for pattern in github["release_tags"]]
    equals: dict[str, Any] = {
        f"{CLAIM}aud": GITHUB_AUDIENCE,
        f"{CLAIM}repository": repository,
        f"{CLAIM}environment": environment,
    }
    like: dict[str, Any] = {
        f"{CLAIM}ref": tag_refs,
        f"{CLAIM}job_workflow_ref": [
            f"{repository}/{github['release_workflow']}@{ref}" for ref in tag_refs
        ],
    }
    if github.get("owner_id") and github.get("repository_id"):
        owner_id, repository_id = github["owner_id"], github["repository_id"]
        subject = f"repo:{owner}@{owner_id}/{name}@{repository_id}"
        equals[f"{CLAIM}sub"] = f"{subject}:environment:{environment}"
        equals[f"{CLAIM}repository_id"] = repository_id
    else:
        like[f"{CLAIM}sub"] = [
            f"repo:{repository}:environment:{environment}",
            f"repo:{owner}@*/{name}@*:environment:{environment}",
        ]
    return {
        "StringEquals": equals,
        "StringLike": like,
        "StringNotLike": {f"{CLAIM}ref": "refs/tags/*/*"},
    }


def github_provider(scope: Construct, existing_arn: str | None) -> iam.IOidcProvider:
    """The account's GitHub OIDC provider: imported when its ARN is given (an account has one
    provider per URL), or else created."""
    if existing_arn:
        return iam.OidcProviderNative.from_oidc_provider_arn(scope, "GitHub", existing_arn)
    return iam.OidcProviderNative(
        scope, "GitHub", url=GITHUB_OIDC_URL, client_ids=[GITHUB_AUDIENCE]
    )


def provider_arn(partition: str, account: str) -> str:
    """The ARN of an account's GitHub OIDC provider (IAM names it by the issuer's host)."""
    return (
        f"arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_URL.removeprefix('https://')}"
    )


def github_role(
    scope: Construct,
    construct_id: str,
    *,
    provider: str,
    github: dict[str, Any],
    environment: str,
    role_name: str,
    description: str,
    session_seconds: int = 3600,
) -> iam.Role:
    """A role only the release workflow's jobs in one GitHub environment can assume, for
    sessions of up to `session_seconds` (what the job asks for: pipeline.json's `sessions`)."""
    return iam.Role(
        scope,
        construct_id,
        role_name=role_name,
        description=description,
        assumed_by=iam.WebIdentityPrincipal(provider, conditions=github_trust(github, environment)),
        max_session_duration=Duration.seconds(session_seconds),
    )

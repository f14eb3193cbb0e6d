"""The handoff stack: where GitHub Actions puts a release, and who may put it there.

Deployed once by an admin in the tooling account. It holds the versioned release bucket (which
tells EventBridge about new objects, so the pipeline starts without CloudTrail), the GitHub OIDC
provider, and the role the release workflow assumes: only the release workflow's job in the
release environment, run for a release tag of one repository, can assume it (see
`upload_trust`), and it can only put the one release key.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.findings import template_findings
from stacks.storage import log_bucket, private_bucket

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
CLAIM = "token.actions.githubusercontent.com:"  # IAM's prefix for the token's claims


def upload_trust(github: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The conditions under which a GitHub OIDC token may assume the upload role.

    Every condition must hold (IAM ANDs operators and keys; it ORs the values of one key):

    - `aud` is the audience configure-aws-credentials asks for;
    - `sub` is the subject of a job in the release environment, in the immutable form
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
    environment = github["release_environment"]
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


class HandoffStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, spec: dict[str, Any], **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        template_findings(self)
        release = spec["release"]
        logs = log_bucket(self, "AccessLogs")
        self.bucket = private_bucket(
            self, "Releases", logs=logs, bucket_name=release["bucket"], event_bridge=True
        )
        provider = self._github_provider(spec["github"].get("oidc_provider_arn"))
        role = iam.Role(
            self,
            "UploadRole",
            role_name=release["upload_role_name"],
            description="Assumed by the release workflow (GitHub OIDC) to upload a release zip.",
            assumed_by=iam.WebIdentityPrincipal(
                provider.oidc_provider_arn, conditions=upload_trust(spec["github"])
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(release["key"])],
            )
        )

    def _github_provider(self, existing_arn: str | None) -> iam.IOidcProvider:
        """An account has one provider per URL: import it when the spec says one exists."""
        if existing_arn:
            return iam.OidcProviderNative.from_oidc_provider_arn(self, "GitHub", existing_arn)
        return iam.OidcProviderNative(
            self, "GitHub", url=GITHUB_OIDC_URL, client_ids=[GITHUB_AUDIENCE]
        )

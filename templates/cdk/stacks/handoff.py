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
from stacks.oidc import github_provider, github_trust
from stacks.storage import log_bucket, private_bucket


def upload_trust(github: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The conditions under which a GitHub OIDC token may assume the upload role: a job of the
    release workflow in the release environment, for a release tag (see `github_trust`)."""
    return github_trust(github, github["release_environment"])


class HandoffStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, spec: dict[str, Any], **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        template_findings(self)
        release = spec["release"]
        logs = log_bucket(self, "AccessLogs")
        self.bucket = private_bucket(
            self, "Releases", logs=logs, bucket_name=release["bucket"], event_bridge=True
        )
        provider = github_provider(self, spec["github"].get("oidc_provider_arn"))
        role = iam.Role(
            self,
            "UploadRole",
            role_name=release["upload_role_name"],
            description="Assumed by the release workflow (GitHub OIDC) to upload a release.",
            assumed_by=iam.WebIdentityPrincipal(
                provider.oidc_provider_arn, conditions=upload_trust(spec["github"])
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(release["key"]),
                    self.bucket.arn_for_objects(release["images_key"]),
                ],
            )
        )

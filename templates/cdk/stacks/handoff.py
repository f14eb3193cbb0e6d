"""The handoff stack: where GitHub Actions puts a release, and who may put it there.

Deployed once by an admin in the tooling account. It holds the versioned release bucket (which
tells EventBridge about new objects, so the pipeline starts without CloudTrail), the GitHub OIDC
provider, and the role the release workflow assumes: only tag refs of one repository that match
the release tag patterns can assume it, and it can only put the one release key.
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
        subjects = [
            f"repo:{spec['github']['repository']}:ref:refs/tags/{pattern}"
            for pattern in spec["github"]["release_tags"]
        ]
        role = iam.Role(
            self,
            "UploadRole",
            role_name=release["upload_role_name"],
            description="Assumed by the release workflow (GitHub OIDC) to upload a release zip.",
            assumed_by=iam.WebIdentityPrincipal(
                provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {"token.actions.githubusercontent.com:aud": GITHUB_AUDIENCE},
                    "StringLike": {"token.actions.githubusercontent.com:sub": subjects},
                },
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

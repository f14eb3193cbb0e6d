"""ECR repositories, and (with `delivery: github`) the registry stack that holds them.

`repository` is the one definition of an image's repository for both delivery modes: the
pipeline stack holds them with `delivery: aws`; with `delivery: github` the registry stack does,
beside the GitHub OIDC provider of the tooling account and the roles the release workflow's push
job (in the release environment) and Marketplace step (in the publishing environment) assume.
No bucket and no pipeline: the release workflow carries the release from job to job.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.findings import template_findings
from stacks.oidc import github_provider, github_role
from stacks.permissions import marketplace_statements


def repository(stack: Stack, image: dict[str, Any], spec: dict[str, Any]) -> ecr.Repository:
    """The image's repository: scanned on push, immutable tags, KMS-encrypted, retained; the
    environments' other accounts may pull from it."""
    found = ecr.Repository(
        stack,
        f"Repository-{image['name']}",
        repository_name=image["repository"],
        image_scan_on_push=True,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        encryption=ecr.RepositoryEncryption.KMS,
        lifecycle_rules=[
            ecr.LifecycleRule(
                description="Drop untagged images after two weeks",
                tag_status=ecr.TagStatus.UNTAGGED,
                max_image_age=Duration.days(14),
            ),
            ecr.LifecycleRule(description="Keep the last 200 releases", max_image_count=200),
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    pullers = sorted({env["account"] for env in spec["environments"]} - {stack.account})
    if pullers:  # clusters in other accounts pull the images they deploy
        found.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                principals=[iam.AccountPrincipal(account) for account in pullers],
            )
        )
    return found


class RegistryStack(Stack):
    """`delivery: github`, tooling account: the repositories, the push role (release
    environment) and the Marketplace role (the publishing environment)."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: dict[str, Any], **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        template_findings(self)
        github = spec["github"]
        self.provider = github_provider(self, github.get("oidc_provider_arn"))
        push = github_role(
            self,
            "PushRole",
            provider=self.provider.oidc_provider_arn,
            github=github,
            environment=github["release_environment"],
            role_name=spec["roles"]["push"],
            description="Assumed by the release workflow's push job (GitHub OIDC) to check the "
            "release and push its images.",
        )
        for image in spec["images"]:
            found = repository(self, image, spec)
            found.grant_push(push)
            found.grant(push, "ecr:DescribeImages")
        publishing = [env for env in spec["environments"] if env["marketplace"]]
        if spec["marketplace"] and publishing:
            publisher = github_role(
                self,
                "MarketplaceRole",
                provider=self.provider.oidc_provider_arn,
                github=github,
                environment=publishing[0]["name"],
                role_name=spec["roles"]["marketplace"],
                session_seconds=spec["sessions"]["marketplace"],
                description="Assumed by the release workflow's publishing environment job "
                "(GitHub OIDC) to publish a version to AWS Marketplace.",
            )
            for statement in marketplace_statements(self, spec["marketplace"]):
                publisher.add_to_policy(statement)

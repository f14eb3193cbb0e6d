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

from stacks.findings import skip_checkov, template_findings
from stacks.oidc import github_provider, github_role
from stacks.permissions import marketplace_statements

# The tags a deploy adds to the image index each environment runs (scripts/running.py): one
# unique, immutable tag per deploy, `deployed-<environment>-<UTC time>`; each deploy then removes
# its environment's older marks, keeping those of the image it deployed and of the one before.
DEPLOYED_TAGS = "deployed-*"
RELEASES_KEPT = 200
UNTAGGED_DAYS = 14
# A count no repository reaches (ECR's default quota is 20,000 images per repository, and a
# deploy leaves at most two marked images per environment): the rule protects and never expires.
NEVER = 10_000
# What a deploy role may do in the repositories, to mark what it deployed (scripts/running.py).
MARK_ACTIONS = [
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:ListImages",
    "ecr:PutImage",
    "ecr:BatchDeleteImage",
]


def lifecycle_rules() -> list[ecr.LifecycleRule]:
    """Retention by release, never of what runs. ECR's lifecycle evaluation (ECR User Guide,
    "Lifecycle policy evaluation rules" and "Lifecycle policy properties"): rules apply in
    priority order; an image is expired by at most one rule; an image that matches the tagging
    requirements of a higher-priority rule cannot be expired by a lower-priority one; a count
    rule keeps the newest `countNumber` images it selects by push time; `tagPatternList` selects
    an image when each pattern matches one of its tags.

    1. Images with a `deployed-*` tag (what each environment runs, and ran before) are selected
       and, at a count no repository reaches, never expired: no later rule can expire them.
    2. Tagged images: the last RELEASES_KEPT. Only a release's image index (or its single
       manifest) carries a tag; its per-platform manifests and attestations are untagged, so
       this counts releases, not manifests (aws/containers-roadmap#2613).
    3. Untagged images pushed more than UNTAGGED_DAYS days ago: what is left of an expired
       release (ECR does not delete a manifest an image index still references: BatchDeleteImage
       answers ImageReferencedByManifestList), and of interrupted pushes.
    """
    return [
        ecr.LifecycleRule(
            rule_priority=1,
            description="Never expire what an environment runs or rolls back to",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=[DEPLOYED_TAGS],
            max_image_count=NEVER,
        ),
        ecr.LifecycleRule(
            rule_priority=2,
            description=f"Keep the last {RELEASES_KEPT} releases (tagged image indexes)",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=["*"],
            max_image_count=RELEASES_KEPT,
        ),
        ecr.LifecycleRule(
            rule_priority=3,
            description="Drop untagged manifests no kept release references, after two weeks",
            tag_status=ecr.TagStatus.UNTAGGED,
            max_image_age=Duration.days(UNTAGGED_DAYS),
        ),
    ]


def repositories(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every repository a release pushes to, each `{name, repository}`: one per spec image, and
    one per declared third-party image, which the release copies there by digest (pipeline.json
    `images` and `third_party_images`)."""
    return [*spec["images"], *(spec.get("third_party_images") or [])]


def repository(stack: Stack, image: dict[str, Any], spec: dict[str, Any]) -> ecr.Repository:
    """The image's repository: immutable tags, KMS-encrypted, retained, expired by release
    (`lifecycle_rules`); scanned on push (by the registry's scanning configuration when the app
    owns it, `registry_scanning`); the environments' other accounts may pull from it, and each
    environment's deploy role may mark what it deploys."""
    owned = registry_scanning(stack, spec)
    found = ecr.Repository(
        stack,
        f"Repository-{image['name']}",
        repository_name=image["repository"],
        image_scan_on_push=None if owned else True,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        encryption=ecr.RepositoryEncryption.KMS,
        lifecycle_rules=lifecycle_rules(),
        removal_policy=RemovalPolicy.RETAIN,
    )
    if owned:
        skip_checkov(
            found,
            "CKV_AWS_163",
            "images are scanned on push by the registry's scanning configuration "
            f"({owned.node.id}); the repository-level setting is deprecated in its favour "
            "(bridgecrewio/checkov#4167)",
        )
    pullers = sorted({env["account"] for env in spec["environments"]} - {stack.account})
    if pullers:  # clusters in other accounts pull the images they deploy
        found.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                principals=[iam.AccountPrincipal(account) for account in pullers],
            )
        )
    deployers = sorted({(env["account"], env["deploy_role_name"]) for env in spec["environments"]})
    found.add_to_resource_policy(  # each deploy marks what it deployed (scripts/running.py)
        iam.PolicyStatement(
            actions=MARK_ACTIONS,
            principals=[
                iam.AccountPrincipal(account) for account in sorted({a for a, _ in deployers})
            ],
            conditions={
                "ArnEquals": {
                    "aws:PrincipalArn": [
                        f"arn:{stack.partition}:iam::{account}:role/{name}"
                        for account, name in deployers
                    ]
                }
            },
        )
    )
    return found


def registry_scanning(
    stack: Stack, spec: dict[str, Any]
) -> ecr.CfnRegistryScanningConfiguration | None:
    """With `aws.registry_scanning` (`basic` or `enhanced`), the registry's scanning
    configuration: scan on push the project's repositories. One per account and region: it
    replaces whatever the account had (an organisation's or Amazon Inspector's rules), which is
    why the app owns it only when asked (AWS::ECR::RegistryScanningConfiguration; ECR User
    Guide, "Scan images for software vulnerabilities"). None when the spec leaves it alone."""
    scan_type = spec.get("registry_scanning")
    if not scan_type:
        return None
    found = stack.node.try_find_child("RegistryScanning")
    if isinstance(found, ecr.CfnRegistryScanningConfiguration):
        return found
    return ecr.CfnRegistryScanningConfiguration(
        stack,
        "RegistryScanning",
        scan_type=str(scan_type).upper(),
        rules=[
            ecr.CfnRegistryScanningConfiguration.ScanningRuleProperty(
                scan_frequency="SCAN_ON_PUSH",
                repository_filters=[
                    ecr.CfnRegistryScanningConfiguration.RepositoryFilterProperty(
                        filter=f"{spec['project']}/*", filter_type="WILDCARD"
                    )
                ],
            )
        ],
    )


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
        for image in repositories(spec):
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

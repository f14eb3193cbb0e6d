"""A target stack, one per environment, deployed into the environment's own account and region.

It holds what a deploy needs there: a deploy role, allowed to describe the one cluster, and an
EKS access entry that puts that role in the environment's Kubernetes group, which the
environment's RBAC (compiled beside the app, applied once by an admin) lets deploy what
`environments[].access` grants and nothing else.
Only the environment's deploy project in the tooling account can assume the role (`delivery:
aws`), or only the release workflow's job in the GitHub environment of the same name (`delivery:
github`; the first target stack in an account other than the tooling account creates that
account's GitHub OIDC provider, the others use it).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.findings import template_findings
from stacks.oidc import github_provider, github_trust, provider_arn
from stacks.registry import MARK_ACTIONS, repositories

# The access entry names one Kubernetes group and associates no EKS access policy: what the
# group may do is Kubernetes RBAC, in the environment's `cdk/kubernetes/<env>.yaml` (an admin
# applies it once; docs/cluster-access.md). An access policy would not do: Kubernetes' RBAC
# escalation check sees only RBAC, so `AmazonEKSAdminPolicy` scoped to the namespace cannot create
# the Roles and RoleBindings charts ship (aws/containers-roadmap#2682), and namespace-scoped
# policies reach no custom resource nor cluster-scoped kind (aws/containers-roadmap#2349). "If
# you associate any access policies, the principalARN has all permissions assigned in the
# associated access policies and all permissions in any Kubernetes Role or ClusterRole objects
# that the group names are bound to" (EKS API reference, CreateAccessEntry, kubernetesGroups).
DEPLOYER = {"aws": "deploy project", "github": "deploy job"}


class TargetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: dict[str, Any],
        environment: dict[str, Any],
        create_provider: bool = False,
        **kwargs: Any,
    ):
        super().__init__(scope, construct_id, **kwargs)
        template_findings(self)
        provider = self._provider(spec, create=create_provider)
        role = iam.Role(
            self,
            "DeployRole",
            role_name=environment["deploy_role_name"],
            description=f"Assumed by the {environment['name']} {DEPLOYER[spec['delivery']]} of "
            f"{spec['project']} to run Helm on {environment['cluster']}.",
            assumed_by=self._deployer(spec, environment, provider),
            # The deploy job's OIDC session (`delivery: github`); a chained session from the
            # deploy project is capped at one hour whatever this says, and deploy.sh renews it.
            max_session_duration=Duration.seconds(spec["sessions"]["deploy"]),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["eks:DescribeCluster"],
                resources=[
                    self.format_arn(
                        service="eks", resource="cluster", resource_name=environment["cluster"]
                    )
                ],
            )
        )
        role.add_to_policy(  # marks what it deployed in the repositories (scripts/running.py)
            iam.PolicyStatement(
                actions=MARK_ACTIONS,
                resources=[
                    f"arn:{self.partition}:ecr:{spec['region']}:{spec['account']}:repository/"
                    f"{image['repository']}"
                    for image in repositories(spec)
                ],
            )
        )
        eks.CfnAccessEntry(
            self,
            "AccessEntry",
            cluster_name=environment["cluster"],
            principal_arn=role.role_arn,
            type="STANDARD",
            kubernetes_groups=[environment["kubernetes_group"]],
        )

    def _provider(self, spec: dict[str, Any], *, create: bool) -> str | None:
        """`delivery: github`: the ARN of this account's GitHub OIDC provider, which this stack
        creates (`create`), or another stack of the app created (the registry stack in the
        tooling account, or the first target stack of this account), or the spec names."""
        if spec["delivery"] != "github":
            return None
        if create:
            return github_provider(self, None).oidc_provider_arn
        existing = spec["github"].get("oidc_provider_arn")
        if existing and self.account == spec["account"]:
            return str(existing)
        return provider_arn(self.partition, self.account)

    def _deployer(
        self, spec: dict[str, Any], environment: dict[str, Any], provider: str | None
    ) -> iam.IPrincipal:
        """Who may assume the deploy role. `delivery: aws`: the tooling account, for the deploy
        project's role only (a condition on the principal ARN, rather than the role as
        principal, lets this stack be deployed before the pipeline that creates that role).
        `delivery: github`: the release workflow's job in the GitHub environment of this
        environment's name, through `provider`, this account's GitHub OIDC provider."""
        if spec["delivery"] == "github":
            assert provider is not None
            return iam.WebIdentityPrincipal(
                provider, conditions=github_trust(spec["github"], environment["name"])
            )
        project_role = (
            f"arn:{self.partition}:iam::{spec['account']}:role{spec['enterprise']['role_path']}"
            f"{environment['project_role_name']}"
        )
        return iam.AccountPrincipal(spec["account"]).with_conditions(
            {"StringEquals": {"aws:PrincipalArn": project_role}}
        )

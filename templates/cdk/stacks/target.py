"""A target stack, one per environment, deployed into the environment's own account and region.

It holds what the pipeline needs there: a deploy role that only the environment's deploy
project in the tooling account can assume, allowed to describe the one cluster, and an EKS
access entry that lets that role manage the environment's namespace (and nothing else).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.findings import template_findings

# Namespace-scoped admin: Helm may create and update any namespaced object, RBAC roles included,
# in this namespace only. The namespace itself must exist (an admin creates it once).
ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"


class TargetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: dict[str, Any],
        environment: dict[str, Any],
        **kwargs: Any,
    ):
        super().__init__(scope, construct_id, **kwargs)
        template_findings(self)
        project_role = (
            f"arn:{self.partition}:iam::{spec['account']}:role/{environment['project_role_name']}"
        )
        # Trust the tooling account, for the deploy project's role only. A condition on the
        # principal ARN (rather than the role as principal) lets this stack be deployed before
        # the pipeline that creates that role.
        role = iam.Role(
            self,
            "DeployRole",
            role_name=environment["deploy_role_name"],
            description=f"Assumed by the {environment['name']} deploy project of "
            f"{spec['project']} to run Helm on {environment['cluster']}.",
            assumed_by=iam.AccountPrincipal(spec["account"]).with_conditions(
                {"StringEquals": {"aws:PrincipalArn": project_role}}
            ),
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
        eks.CfnAccessEntry(
            self,
            "AccessEntry",
            cluster_name=environment["cluster"],
            principal_arn=role.role_arn,
            type="STANDARD",
            access_policies=[
                eks.CfnAccessEntry.AccessPolicyProperty(
                    policy_arn=ACCESS_POLICY,
                    access_scope=eks.CfnAccessEntry.AccessScopeProperty(
                        type="namespace", namespaces=[environment["namespace"]]
                    ),
                )
            ],
        )

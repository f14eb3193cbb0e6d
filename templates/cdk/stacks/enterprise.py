"""The settings an AWS organisation asks of every app (pipeline.json's "enterprise"), applied to
the whole app after every stack (and the team's extend.py) has added its constructs:

- permissions_boundary: the managed policy set as every IAM role's permissions boundary (CDK's
  `PermissionsBoundary.of`, which also reaches the roles of CDK's own custom resources);
- tags: on every stack and every resource that takes tags (CDK's `Tags.of`);
- role_path: the IAM path of every role (IAM API reference, "CreateRole": Path);
- kms_key: a customer managed key for the buckets (SSE-KMS), the ECR repositories and the log
  groups, and the right to use it, through S3, ECR and CloudWatch Logs only, for every role.

The access-log bucket keeps SSE-S3: S3 server access logging cannot deliver to a bucket whose
default encryption is SSE-KMS (Amazon S3 User Guide, "Enabling Amazon S3 server access logging").
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Aspects, CfnResource, IAspect, Stack, Tags
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

# What a role may do with the customer key, and through which services (AWS KMS Developer
# Guide, "kms:ViaService"): the buckets, the repositories and the logs are all it encrypts.
KEY_USE = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
]
KEY_SERVICES = ("s3", "ecr", "logs")
ACCESS_LOGS = "AccessLogs"  # the id of each stack's access-log bucket (see the docstring)


def apply(stacks: dict[str, Stack], settings: dict[str, Any]) -> None:
    """Apply `settings` (pipeline.json's "enterprise") to every stack of `stacks`."""
    for key, value in sorted(settings["tags"].items()):
        for stack in stacks.values():
            Tags.of(stack).add(key, value)
    for stack in stacks.values():
        if settings["permissions_boundary"]:
            iam.PermissionsBoundary.of(stack).apply(_boundary(stack, settings))
        if settings["role_path"] != "/":
            Aspects.of(stack).add(RolePath(settings["role_path"]))
        if settings["kms_key"]:
            Aspects.of(stack).add(CustomerKey(settings["kms_key"]))
            _grant_key(stack, settings["kms_key"])


def _boundary(stack: Stack, settings: dict[str, Any]) -> iam.IManagedPolicy:
    name = settings["permissions_boundary"]
    if name.startswith("arn:"):
        return iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundary", name)
    return iam.ManagedPolicy.from_managed_policy_name(stack, "PermissionsBoundary", name)


def _grant_key(stack: Stack, key_arn: str) -> None:
    """Every role of the stack may use the key, through the services it encrypts for."""
    statement = iam.PolicyStatement(
        sid="UseTheCustomerKey",
        actions=KEY_USE,
        resources=[key_arn],
        conditions={
            "StringEquals": {
                "kms:ViaService": [
                    f"{service}.{stack.region}.{stack.url_suffix}" for service in KEY_SERVICES
                ]
            }
        },
    )
    for construct in stack.node.find_all():
        if isinstance(construct, iam.Role):
            construct.add_to_principal_policy(statement)


@jsii.implements(IAspect)
class RolePath:
    """Sets the IAM path of every role, CDK's own included."""

    def __init__(self, path: str) -> None:
        self.path = path

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.CfnRole):
            node.path = self.path
        elif isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::IAM::Role":
            node.add_property_override("Path", self.path)


@jsii.implements(IAspect)
class CustomerKey:
    """Encrypts the buckets, repositories and log groups with the customer key."""

    def __init__(self, key_arn: str) -> None:
        self.key_arn = key_arn

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, s3.CfnBucket) and not _access_logs(node):
            node.add_property_override(
                "BucketEncryption.ServerSideEncryptionConfiguration",
                [
                    {
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": self.key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ],
            )
        elif isinstance(node, ecr.CfnRepository):
            node.add_property_override(
                "EncryptionConfiguration", {"EncryptionType": "KMS", "KmsKey": self.key_arn}
            )
        elif isinstance(node, logs.CfnLogGroup):
            node.add_property_override("KmsKeyId", self.key_arn)


def _access_logs(bucket: s3.CfnBucket) -> bool:
    """A bucket S3 server access logs are delivered to (storage.log_bucket, which every stack
    creates as "AccessLogs")."""
    parent = bucket.node.scope
    return parent is not None and parent.node.id == ACCESS_LOGS

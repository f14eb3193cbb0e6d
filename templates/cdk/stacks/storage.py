"""Buckets as every bucket of this app must be: private, versioned, encrypted, TLS-only, logged."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.findings import skip_checkov


def log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """The destination of server access logs (written by the S3 logging service principal)."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write with SSE-KMS
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(365),
                noncurrent_version_expiration=Duration.days(30),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    skip_checkov(bucket, "CKV_AWS_18", "this is the access-log bucket; it cannot log to itself")
    return bucket


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    logs: s3.IBucket,
    bucket_name: str | None = None,
    key: kms.IKey | None = None,
    event_bridge: bool = False,
) -> s3.Bucket:
    """A versioned, private, TLS-only bucket that logs its access to `logs`."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=key,
        bucket_key_enabled=bool(key),
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=f"{construct_id}/",
        lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90))],
        removal_policy=RemovalPolicy.RETAIN,
    )
    if event_bridge:
        # The native property; CDK's `event_bridge_enabled` deploys a Lambda to set it instead.
        cfn = bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
    return bucket

"""Buckets as every bucket of this app must be: private, versioned, encrypted, TLS-only, logged,
and never billing for what nobody can use.

Every bucket's lifecycle (S3 User Guide, "Lifecycle configuration elements"):
- aborts a multipart upload still incomplete ABORT_INCOMPLETE_UPLOADS_DAYS days after it started
  (AbortIncompleteMultipartUpload.DaysAfterInitiation): the parts of a failed upload of a large
  release zip are stored, and billed, until then, and no one can read them;
- keeps the newest NONCURRENT_VERSIONS_KEPT noncurrent versions of every key, however old
  (NoncurrentVersionExpiration.NewerNoncurrentVersions, at most 100), and expires an older one
  NONCURRENT_DAYS days after it became noncurrent. A release is one version of the release key,
  so the last 100 releases before the current one stay, which covers re-releasing what any
  environment runs or rolls back to: a Helm rollback needs no zip (Helm keeps each revision's
  chart and values in the cluster), and the images stay in ECR (stacks/registry.py).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.findings import skip_checkov

ABORT_INCOMPLETE_UPLOADS_DAYS = 7
NONCURRENT_VERSIONS_KEPT = 100  # S3's maximum for NewerNoncurrentVersions
NONCURRENT_DAYS = 90


def lifecycle_rules(*, expiration: Duration | None = None) -> list[s3.LifecycleRule]:
    """The rules every bucket has (see the module's docstring), plus `expiration` of current
    objects where given."""
    return [
        s3.LifecycleRule(
            id="abort-incomplete-uploads-expire-old-versions",
            abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOADS_DAYS),
            noncurrent_version_expiration=Duration.days(NONCURRENT_DAYS),
            noncurrent_versions_to_retain=NONCURRENT_VERSIONS_KEPT,
            expiration=expiration,
        )
    ]


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
        lifecycle_rules=lifecycle_rules(expiration=Duration.days(365)),
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
        lifecycle_rules=lifecycle_rules(),
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

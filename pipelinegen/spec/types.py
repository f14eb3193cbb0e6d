"""Constrained value types of the spec, each with the words an error message needs.

A type here is an `Annotated` string with its pattern and an `Explain` saying, in plain words, what
a valid value looks like; the diagnostics turn a pattern mismatch into "'x' is not <what>" with an
example, instead of echoing a regular expression at the user.

Every pattern ends in `(?!\n)$`: the models match with Python's `re` (for the lookarounds), whose
`$` also matches before a final newline, so `"redis\n"` would pass `^[a-z]+$` and a name or a
reference would reach the workflows with a newline in it; JSON Schema's (ECMA) `$` does not, and
the lookahead makes both mean the end of the string.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from pipelinegen.spec.regions import REGIONS


@dataclass(frozen=True)
class Explain:
    """Plain words for a constrained value: what it must be, and one valid example."""

    what: str
    example: str


def explained(metadata: tuple[object, ...]) -> Explain | None:
    """The words for a type: the outermost Explain, as a refined type adds its own last."""
    found = [item for item in metadata if isinstance(item, Explain)]
    return found[-1] if found else None


def is_relative(path: str) -> bool:
    """Paths in a spec are relative and POSIX, whatever machine compiles it."""
    return not (path.startswith("/") or "\\" in path or path[1:3] == ":/")


def escapes(path: str) -> bool:
    """Whether a relative path climbs out of the directory it is relative to."""
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def _relative(path: str) -> str:
    if not is_relative(path):
        raise PydanticCustomError(
            "pipelinegen",
            "path '{path}' is not a relative POSIX path",
            {"path": path, "hint": "write it relative to the repository root, with '/'"},
        )
    return path


def _not_escaping(path: str) -> str:
    """Reject paths that leave the repository: outputs are packaged and built from inside it."""
    if escapes(path):
        raise PydanticCustomError(
            "pipelinegen",
            "path '{path}' escapes the repository",
            {"path": path, "hint": "write it relative to the repository root, without '..'"},
        )
    return posixpath.normpath(path)


def _no_expression(text: str) -> str:
    """GitHub evaluates `${{ }}` anywhere in a workflow, so a spec string must not carry one."""
    if "${{" in text:
        raise PydanticCustomError(
            "pipelinegen",
            "'${{' starts a GitHub Actions expression, which pipelinegen does not pass through",
            {"hint": "use the runner's environment variables instead, e.g. $GITHUB_SHA"},
        )
    return text


# A shell script run by a generated job: any text, but no GitHub expressions (injection).
Script = Annotated[str, StringConstraints(min_length=1), AfterValidator(_no_expression)]

BuildArgValue = Annotated[
    str,
    StringConstraints(pattern=r"^[^\r\n]*(?!\n)$"),
    AfterValidator(_no_expression),
    Explain("a single-line value", '"3.12"'),
]

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]*[a-z0-9](?!\n)$", max_length=40),
    Explain("a lowercase slug of letters, digits and inner hyphens", "acme-platform"),
]

GitHubRepository = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}(?!\n)$"),
    Explain("a GitHub repository as owner/name", "acme/platform"),
]

BranchName = Annotated[
    str,
    StringConstraints(
        pattern=r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![/.])(?!\n)$", max_length=255
    ),
    Explain("a git branch name", "main"),
]

# One pattern, two readers: GitHub's tag filter starts the release workflow, IAM's StringLike
# decides who may assume the upload role. They agree on literal characters and on a single '*'
# over tags without '/' (GitHub's '*' stops at '/', IAM's does not; the trust policy refuses tags
# with '/', see pipelinegen.trust). '?', '+', '[...]', '!' and '**' mean different things in each,
# and a '/' in the pattern would need a tag with '/', so none of them is accepted.
TagPattern = Annotated[
    str,
    StringConstraints(pattern=r"^(?!.*\*\*)[A-Za-z0-9._*-]+(?!\n)$", max_length=128),
    Explain("a tag glob of letters, digits, '.', '_', '-' and single '*' (no '/')", '"v*"'),
]

GitHubId = Annotated[
    int,
    Field(ge=1),
    Explain("a numeric GitHub ID", "123456"),
]

Account = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{12}(?!\n)$"),
    Explain("a 12-digit AWS account ID", '"111111111111"'),
]

if TYPE_CHECKING:  # the Literal is built from the table; type checkers see its values as str
    RegionName = str
else:
    RegionName = Literal[tuple(REGIONS)]

OidcProviderArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com(?!\n)$"
    ),
    Explain(
        "the ARN of a GitHub OIDC provider",
        "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
    ),
]

SnsTopicArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws:sns:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(?!\n)$"
    ),
    Explain("the ARN of a standard SNS topic", "arn:aws:sns:us-east-1:111111111111:approvals"),
]

PermissionsBoundary = Annotated[
    str,
    StringConstraints(
        pattern=r"^(arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([A-Za-z0-9+=,.@_-]+/)*)?"
        r"[A-Za-z0-9+=,.@_-]{1,128}(?!\n)$"
    ),
    Explain(
        "a managed policy's name (in each stack's account) or ARN",
        "acme-boundary",
    ),
]

RolePath = Annotated[
    str,
    StringConstraints(pattern=r"^/([A-Za-z0-9+=,.@_-]+/)*(?!\n)$", max_length=512),
    Explain("an IAM path: starts and ends with '/'", "/acme/pipelines/"),
]

KmsKeyArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}(?!\n)$"
    ),
    Explain(
        "the ARN of a customer managed KMS key (a key, not an alias)",
        "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
]

# AWS tag keys and values (Tagging AWS resources, "Tag naming limits and requirements"): keys up
# to 128 characters, values up to 256, of letters, digits, spaces and _ . : / = + - @; the
# `aws:` prefix is reserved.
TagKey = Annotated[
    str,
    StringConstraints(pattern=r"^(?!aws:)[\w .:/=+\-@]{1,128}(?!\n)$"),
    Explain("an AWS tag key, not starting with 'aws:'", "cost-center"),
]
TagValue = Annotated[
    str,
    StringConstraints(pattern=r"^[\w .:/=+\-@]{0,256}(?!\n)$"),
    Explain("an AWS tag value", "platform-team"),
]

PatchTarget = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\.(yml|yaml|json)(?!\n)$"),
    Explain(
        "the repository path of a generated workflow or JSON file",
        ".github/workflows/pipelinegen-ci.yml",
    ),
]

Region = Annotated[
    RegionName,
    Explain("an AWS region of the commercial partition", "us-east-1"),
]

BucketName = Annotated[
    str,
    StringConstraints(
        pattern=r"^(?!xn--)(?!sthree-)(?!.*\.\.)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?!\n)$"
    ),
    Explain("an S3 bucket name (3-63 lowercase letters, digits, '.', '-')", "acme-releases"),
]

ZipKey = Annotated[
    str,
    # S3 keys are at most 1,024 bytes; the images object's key adds ".images" to this one.
    StringConstraints(pattern=r"^(?!/)[A-Za-z0-9!_.*'()/-]+\.zip(?!\n)$", max_length=1017),
    Explain("an S3 object key ending in .zip", "releases/acme-platform.zip"),
]

ImageName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:[_-][a-z0-9]+)*(?!\n)$", max_length=64),
    Explain(
        "an image name of lowercase letters and digits, with single '-' or '_' between them",
        "api",
    ),
]

JobName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*(?!\n)$", max_length=64),
    Explain("a GitHub Actions job id (a letter or '_', then letters, digits, '-', '_')", "lint"),
]

EnvironmentName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]*(?!\n)$", max_length=32),
    Explain("a lowercase name of letters, digits and '-', starting with a letter", "staging"),
]

ClusterName = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]*(?!\n)$", max_length=100),
    Explain("an EKS cluster name", "acme-staging"),
]

Namespace = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(?!\n)$", max_length=63),
    Explain("a Kubernetes namespace (a DNS label)", "platform"),
]

HelmRelease = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(?!\n)$", max_length=53),
    Explain("a Helm release name (lowercase DNS label, at most 53 characters)", "platform"),
]

# A Helm values path: keys joined by '.', each optionally followed by list indexes, as in
# `--set` (`sidecars[0].image`; subchart values under the subchart's alias or name). Keys are
# kept to what needs no escaping there.
ValuesKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9_-]+(?:\[[0-9]+\])*(?:\.[A-Za-z0-9_-]+(?:\[[0-9]+\])*)*(?!\n)$",
        max_length=512,
    ),
    Explain(
        "a dotted Helm values path such as api.image or sidecars[0].image (keys of letters, "
        "digits, '-', '_'; list elements by index)",
        "api.image",
    ),
]

BuildArgName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(?!\n)$", max_length=128),
    Explain("a build argument name (letters, digits, '_')", "PYTHON_VERSION"),
]

StageName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?!\n)$", max_length=128),
    Explain("a Dockerfile stage name", "runtime"),
]

ToolVersion = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9][0-9A-Za-z.+-]*(\.x)?(?!\n)$", max_length=32),
    Explain("a version number, quoted", '"3.12"'),
]

# Where the generated jobs may install pipelinegen from: https only (a plain-text scheme would let
# the network choose the code), no credentials or query in the URL (it is written into workflows).
GitUrl = Annotated[
    str,
    StringConstraints(
        pattern=r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)+/?(?!\n)$"
    ),
    Explain("an https:// URL of a git repository", "https://github.com/acme/pipelinegen.git"),
]

CommitSha = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{40}(?!\n)$"),
    Explain(
        "a full commit SHA (40 lowercase hex digits)", "0123456789abcdef0123456789abcdef01234567"
    ),
]

ProductId = Annotated[
    str,
    StringConstraints(pattern=r"^prod-[a-z0-9]+(?!\n)$", max_length=64),
    Explain("an AWS Marketplace product ID", "prod-abcdefghijklm"),
]

SellerPrefix = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?!\n)$", max_length=64),
    Explain("the seller's Marketplace repository prefix", "acme"),
]

RepoPath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    AfterValidator(_relative),
    AfterValidator(_not_escaping),
    Explain("a relative path inside the repository", "deploy/helm/platform"),
]

# An EKS Kubernetes version, minor only: what `--kube-version` renders against.
KubernetesVersion = Annotated[
    str,
    StringConstraints(pattern=r"^1\.[0-9]{2}(?!\n)$"),
    Explain("a Kubernetes minor version, quoted", '"1.35"'),
]

# An API group/version the cluster serves beyond Kubernetes' own (a CRD's), as `--api-versions`.
ApiVersion = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
        r"/v[0-9]+((alpha|beta)[0-9]+)?(?!\n)$",
        max_length=317,
    ),
    Explain("an API group/version such as monitoring.coreos.com/v1", "monitoring.coreos.com/v1"),
]

# A Kubernetes kind, as an object's `kind:` names it.
KindName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]*(?!\n)$", max_length=63),
    Explain("a Kubernetes kind (CamelCase)", "ClusterRole"),
]

# A ClusterRole's name: a path segment, as RBAC names are (e.g. `system:aggregate-to-admin`).
ClusterRoleName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*(?!\n)$", max_length=253),
    Explain("a ClusterRole name", "platform-controller"),
]

# An image reference pinned by digest: `[registry/]repository[:tag]@sha256:<64 hex>`.
PinnedReference = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
        r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}(?!\n)$",
        max_length=512,
    ),
    Explain(
        "an image reference pinned by digest ([registry/]repository[:tag]@sha256:<64 hex>)",
        "docker.io/library/rabbitmq:4.1-management-alpine@sha256:<64 hex>",
    ),
]

# A values file: also passed through a space-separated variable and Helm's comma-split -f.
ValuesPath = Annotated[
    RepoPath,
    StringConstraints(pattern=r"^[^\s,]+(?!\n)$"),
    Explain(
        "a relative path inside the repository, without spaces or commas", "deploy/values.yaml"
    ),
]

# Relative to something inside the repository (the Dockerfile to its context); the rules check
# that the two together stay inside.
RelativePath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    AfterValidator(_relative),
    Explain("a relative path", "Dockerfile"),
]

PRESETS: dict[str, str] = {
    "gitleaks": "Secrets committed anywhere in the git history (gitleaks)",
    "trivy-image": "Known vulnerabilities (HIGH, CRITICAL) in every image of `images` (Trivy)",
}

Preset = Literal["gitleaks", "trivy-image"]

Platform = Literal[
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
    "linux/386",
]

MarketplaceService = Literal["ECS", "EKS", "ECS-Anywhere", "EKS-Anywhere", "Bedrock-AgentCore"]

# The services a Helm delivery option runs on (HelmDeliveryOptionDetails.CompatibleServices: 1 or
# 2 of these; AWS Marketplace Catalog API reference, "Work with container-based products").
HelmMarketplaceService = Literal["EKS", "EKS-Anywhere"]

# The delivery options a release publishes: the images alone (EcrDeliveryOptionDetails), or the
# Helm chart with its images (HelmDeliveryOptionDetails).
DeliveryOption = Literal["container-images", "helm"]

# A Kubernetes service account name: a DNS subdomain (Kubernetes "Object Names and IDs"), at most
# 50 characters (HelmDeliveryOptionDetails.MarketplaceServiceAccountName).
ServiceAccountName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(?!\n)$",
        max_length=50,
    ),
    Explain("a Kubernetes service account name (lowercase, at most 50 characters)", "platform"),
]

Runner = Literal["ubuntu-24.04", "ubuntu-22.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm"]

TimeoutMinutes = Annotated[int, Field(ge=1, le=360)]

# EC2 resource IDs: a prefix, then 8 hexadecimal digits (IDs made before 2016) or 17 (EC2 User
# Guide, "Resource IDs": "the longer ID format", 17 characters after the prefix).
VpcId = Annotated[
    str,
    StringConstraints(pattern=r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})(?!\n)$"),
    Explain("a VPC ID (vpc- and 8 or 17 hexadecimal digits)", "vpc-0a1b2c3d4e5f60718"),
]
SubnetId = Annotated[
    str,
    StringConstraints(pattern=r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})(?!\n)$"),
    Explain("a subnet ID (subnet- and 8 or 17 hexadecimal digits)", "subnet-0a1b2c3d4e5f60718"),
]
SecurityGroupId = Annotated[
    str,
    StringConstraints(pattern=r"^sg-([0-9a-f]{8}|[0-9a-f]{17})(?!\n)$"),
    Explain("a security group ID (sg- and 8 or 17 hexadecimal digits)", "sg-0a1b2c3d4e5f60718"),
]

# A runner label of `runs-on:` (a self-hosted runner's label, or a larger runner's name): GitHub
# allows letters, digits, `-`, `_` and `.` in self-hosted runner labels.
RunnerLabel = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(?!\n)$", max_length=100),
    Explain("a runner label (letters, digits, '.', '_', '-')", "acme-staging-vpc"),
]

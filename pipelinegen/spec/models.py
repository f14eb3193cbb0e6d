"""The spec, format version 1: the public contract of `pipeline.yaml`.

Every field has a markdown description, because the JSON Schema — and so every editor hover and
the spec reference (docs/spec.md) — is generated from these models. Values are validated by types
(`pipelinegen.spec.types`); rules that relate several fields live in `pipelinegen.spec.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, GetCoreSchemaHandler, Tag
from pydantic_core import CoreSchema

from pipelinegen.kubernetes import DEFAULT_KUBERNETES_VERSION_TEXT
from pipelinegen.spec.strict import exact_literals
from pipelinegen.spec.types import (
    PRESETS,
    Account,
    ApiVersion,
    BranchName,
    BucketName,
    BuildArgName,
    BuildArgValue,
    ClusterName,
    ClusterRoleName,
    CommitSha,
    DeliveryOption,
    EnvironmentName,
    GitHubId,
    GitHubRepository,
    GitUrl,
    HelmMarketplaceService,
    HelmRelease,
    ImageName,
    JobName,
    KindName,
    KmsKeyArn,
    KubernetesVersion,
    MarketplaceService,
    Namespace,
    OidcProviderArn,
    PatchTarget,
    PermissionsBoundary,
    PinnedReference,
    Platform,
    Preset,
    ProductId,
    Region,
    RelativePath,
    RepoPath,
    RolePath,
    Runner,
    RunnerLabel,
    Script,
    SecurityGroupId,
    SellerPrefix,
    ServiceAccountName,
    Slug,
    SnsTopicArn,
    StageName,
    SubnetId,
    TagKey,
    TagPattern,
    TagValue,
    TimeoutMinutes,
    ToolVersion,
    ValuesKey,
    ValuesPath,
    VpcId,
    ZipKey,
)


class Model(BaseModel):
    """The one strict base: unknown keys are errors, values are never coerced, specs are frozen.

    Strict mode keeps every scalar its YAML type (no bool as a number, no float as an integer,
    no number as a string), except in a `Literal`: pydantic compares a literal by equality, and
    in Python `True == 1 == 1.0`, so `version: true` would pass as `1`. `exact_literals` makes
    every literal of every model also require the value's exact type.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, regex_engine="python-re", defer_build=True
    )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return exact_literals(handler(source))


class GitHub(Model):
    """Where the CI half runs."""

    repository: GitHubRepository = Field(
        description="The GitHub repository as `owner/name`, cased exactly as GitHub shows it: "
        "it scopes the OIDC trust, and AWS compares the token's subject case-sensitively.",
        examples=["acme/platform"],
    )
    owner_id: GitHubId | None = Field(
        default=None,
        description="The numeric ID of the repository's owner (`gh api repos/OWNER/REPO "
        "--jq .owner.id`). With `repository_id`, the upload role trusts only GitHub's immutable "
        "subject `repo:OWNER@OWNER_ID/REPO@REPO_ID:…`, so a recycled owner or repository name "
        "cannot release. Default: both the legacy and the immutable subject of `repository`.",
        examples=[123456],
    )
    repository_id: GitHubId | None = Field(
        default=None,
        description="The repository's numeric ID (`gh api repos/OWNER/REPO --jq .id`); "
        "given together with `owner_id`.",
        examples=[789012],
    )
    default_branch: BranchName = Field(
        default="main",
        description="The branch that CI runs on after merge (besides pull requests).",
    )
    release_tags: list[TagPattern] = Field(
        default=["v*"],
        min_length=1,
        description="Tag globs that start a release, e.g. `v*`. The same globs trigger the "
        "release workflow and limit which tags may assume the upload role in AWS, so only what "
        "both read alike is accepted: a single `*` as the wildcard, and no `/` (GitHub's `*` "
        "stops at `/`, IAM's does not; tags with `/` never release).",
        examples=[["v*"]],
    )
    runner: Runner = Field(
        default="ubuntu-24.04",
        description="The GitHub-hosted runner label for every generated job.",
    )


class Aws(Model):
    """The tooling account that holds the release bucket and the pipeline."""

    account: Account = Field(
        description="The 12-digit AWS account ID of the tooling account (quote it: "
        '`"111111111111"`). The release bucket and the CodePipeline live here.',
        examples=["111111111111"],
    )
    region: Region = Field(
        description="The AWS region of the release bucket and the pipeline.",
        examples=["us-east-1"],
    )
    oidc_provider_arn: OidcProviderArn | None = Field(
        default=None,
        description="The ARN of the GitHub OIDC provider, when the tooling account already has "
        "one (an account holds one per URL). Default: the handoff stack creates it.",
        examples=["arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"],
    )
    permissions_boundary: PermissionsBoundary | None = Field(
        default=None,
        description="A managed policy set as the permissions boundary of every IAM role the "
        "CDK app creates, in every stack and account (`extend.py`'s roles included), as an "
        "organisation's SCP may require. A name is looked up in each stack's own account.",
        examples=["acme-boundary"],
    )
    role_path: RolePath = Field(
        default="/",
        description="The IAM path of every role the CDK app creates. A role's path cannot "
        "change in place: on an app already deployed, a new path replaces every role (see the "
        "documentation's migration); `diff` marks the change high-risk.",
        examples=["/acme/pipelines/"],
    )
    tags: dict[TagKey, TagValue] = Field(
        default={},
        max_length=40,
        description="Tags on every stack and every resource that takes tags, e.g. for cost "
        "allocation (applied with CDK's `Tags.of(app)`).",
        examples=[{"cost-center": "platform", "owner": "platform-team"}],
    )
    kms_key: KmsKeyArn | None = Field(
        default=None,
        description="A customer managed KMS key (in the tooling account and region) that "
        "encrypts the release and artifact buckets, the ECR repositories and the build logs "
        "instead of the keys the app creates. Its key policy must let the account's IAM "
        "policies grant its use and let CloudWatch Logs use it. An ECR repository's encryption "
        "cannot change in place and the repositories are retained: set it before the first "
        "deployment, or follow the documented migration; `diff` marks a change high-risk.",
        examples=["arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    )
    registry_scanning: Literal["basic", "enhanced"] | None = Field(
        default=None,
        description="Let the app own the tooling account's ECR registry scanning configuration "
        "in this region: `basic` or `enhanced` (Amazon Inspector) scanning, on push, of the "
        "project's repositories. There is one configuration per account and region, and the app "
        "replaces it whole (an organisation's or Inspector's rules included), so by default the "
        "app leaves it alone and asks each repository to scan on push instead (the setting ECR "
        "deprecated in favour of the registry's). See docs/operations.md.",
        examples=["basic"],
    )


class Release(Model):
    """Where GitHub Actions hands a release over to AWS, and what a release must pass first."""

    bucket: BucketName | None = Field(
        default=None,
        description="The S3 release bucket. Default: `<name>-releases-<aws.account>`. "
        "Unused with `delivery: github`.",
        examples=["acme-platform-releases"],
    )
    key: ZipKey | None = Field(
        default=None,
        description="The fixed object key every release is uploaded to (the CodePipeline S3 "
        "source watches one key; bucket versioning keeps the history). "
        "Default: `releases/<name>.zip`. Unused with `delivery: github`.",
        examples=["releases/acme-platform.zip"],
    )
    environment: EnvironmentName = Field(
        default="release",
        description="The GitHub environment of the job that assumes the upload role (with "
        "`delivery: github`, the push role). Give it required reviewers and restrict it to the "
        "release tags in the repository's settings; the role trusts only jobs in this "
        "environment.",
        examples=["release"],
    )
    require_ci: bool = Field(
        default=True,
        description="Release only when every CI check passed on the tagged commit: the release "
        "reads the commit's check runs (its gate job needs `checks: read`) and runs, before it "
        "builds anything, the checks that did not pass there. `false` releases without them.",
    )
    require_default_branch: bool = Field(
        default=True,
        description="Refuse a tag whose commit is not on `github.default_branch` (reachable "
        "from it), before anything is built. `false` releases tags on any commit.",
    )


class ImageValues(Model):
    """Where a chart reads one image: each key names the values path that receives that part of
    the pushed image's reference. The image is always pinned by digest, so a mapping sets
    `reference`, `tag` or `digest`."""

    reference: ValuesKey | None = Field(
        default=None,
        description="Receives the whole reference, `<registry>/<name>/<image>:<version>@<digest>`.",
        examples=["worker.image"],
    )
    registry: ValuesKey | None = Field(
        default=None,
        description="Receives the registry host, `<account>.dkr.ecr.<region>.amazonaws.com`; "
        "`repository` then receives `<name>/<image>` (Bitnami's `image.registry`).",
        examples=["web.image.registry"],
    )
    repository: ValuesKey | None = Field(
        default=None,
        description="Receives the repository, `<registry>/<name>/<image>` (or `<name>/<image>` "
        "with `registry`).",
        examples=["web.image.repository"],
    )
    prefix: ValuesKey | None = Field(
        default=None,
        description="Receives the repositories' namespace, `<registry>/<name>`, for charts that "
        "build `<prefix>/<image>:<tag>`; several images may share it.",
        examples=["images.repository"],
    )
    tag: ValuesKey | None = Field(
        default=None,
        description="Receives `<version>@<digest>`, for charts that build `repository:tag`; or "
        "`<version>` when `digest` is mapped too.",
        examples=["web.image.tag"],
    )
    digest: ValuesKey | None = Field(
        default=None,
        description="Receives the digest, `sha256:<64 hex>` (Bitnami's `image.digest`).",
        examples=["web.image.digest"],
    )


# Where a chart reads one image: a path `P` (short for `{repository: P.repository, tag: P.tag}`),
# a mapping, or a list of them. `images` and `third_party_images` share it, and so every check.
MappedValues = ValuesKey | list[ValuesKey | ImageValues]


class Image(Model):
    """One OCI image, built by CI, released as a tarball and pushed to ECR by the pipeline."""

    name: ImageName = Field(
        description="The image name. The ECR repository is `<name>/<image>`; CI validates the "
        "build in the job `build-<image>`.",
        examples=["api"],
    )
    context: RepoPath = Field(
        default=".",
        description="The build context: a directory relative to the repository root.",
        examples=["services/api"],
    )
    dockerfile: RelativePath = Field(
        default="Dockerfile",
        description="The Dockerfile, relative to `context`.",
        examples=["Dockerfile"],
    )
    platforms: list[Platform] = Field(
        default=["linux/amd64"],
        min_length=1,
        description="The platforms to build. More than one makes a multi-arch image index.",
        examples=[["linux/amd64", "linux/arm64"]],
    )
    build_args: dict[BuildArgName, BuildArgValue] = Field(
        default={},
        description="Build arguments passed to the build. Quote numbers "
        '(`PYTHON_VERSION: "3.10"`), or YAML reads them as numbers.',
        examples=[{"BASE_IMAGE": "python:3.12-slim"}],
    )
    target: StageName | None = Field(
        default=None,
        description="The Dockerfile stage to build (`--target`). Default: the last stage.",
        examples=["runtime"],
    )
    values: MappedValues = Field(
        default=[],
        description="Where the chart reads this image, pinned by digest. A path `P` (the common "
        "case, e.g. `api.image`) sets `P.repository` to `<registry>/<name>/<image>` and `P.tag` "
        "to `<version>@<digest>`; a mapping names each part's path (`registry`, `repository`, "
        "`prefix`, `tag`, `digest`, `reference`); a list does several. Subchart values go under "
        "the subchart's alias or name. Every image is also at "
        "`global.pipelinegen.images.<image>` (`reference`, `registry`, `repository`, `tag`, "
        "`digest`), which every chart and subchart sees.",
        examples=[
            "api.image",
            [
                {
                    "registry": "web.image.registry",
                    "repository": "web.image.repository",
                    "digest": "web.image.digest",
                }
            ],
        ],
    )


class ThirdPartyImage(Model):
    """An image the chart runs that this repository does not build (a database, a sidecar, a
    controller's helper), declared so every check knows it, pinned by digest."""

    name: ImageName = Field(
        description="A name for the image, unique among `images` and `third_party_images`.",
        examples=["rabbitmq"],
    )
    image: PinnedReference = Field(
        description="The reference the chart renders, pinned by digest "
        "(`[registry/]repository[:tag]@sha256:<64 hex>`; Docker Hub's `docker.io/library/` may "
        "be left out, as the container runtime adds it). A rendered image of the same repository "
        "with another digest, or with none, is refused.",
        examples=["docker.io/library/rabbitmq:4.1-management-alpine@sha256:" + "0" * 64],
    )
    values: MappedValues = Field(
        default=[],
        description="Where the chart reads this image, in the shapes of `images[].values`. The "
        "release copies the image by digest to the pipeline's ECR repository `<name>/<image>` "
        "(and, for AWS Marketplace, to the seller's), and these paths receive that copy: "
        "`<registry>/<name>/<image>:<version>@<digest>` in the same forms, with the declared "
        "digest and the release version as tag. Without `values`, the cluster pulls `image` "
        "from its registry (a warning), and the AWS Marketplace chart refuses it.",
        examples=[
            [
                {
                    "registry": "rabbitmq.image.registry",
                    "repository": "rabbitmq.image.repository",
                    "digest": "rabbitmq.image.digest",
                }
            ]
        ],
    )


class Setup(Model):
    """Toolchains a check needs, installed by the official setup actions."""

    python: ToolVersion | None = Field(default=None, description="Python version, e.g. `3.12`.")
    node: ToolVersion | None = Field(default=None, description="Node.js version, e.g. `24`.")
    go: ToolVersion | None = Field(default=None, description="Go version, e.g. `1.24`.")
    java: ToolVersion | None = Field(default=None, description="Java version (Temurin), e.g. `21`.")


_CHECK_NAME = (
    "The job id, and so the required-status-check name to use in branch protection. "
    "Must be unique, and must not be `pipelinegen` or `build-<image>` (generated jobs)."
)
_TIMEOUT = "The job's timeout in minutes."


_CHECK_KINDS = "a check runs either your command (run:) or a built-in scan (preset:)"


class CommandCheck(Model):
    """A CI job that runs your own command."""

    missing_hints: ClassVar[dict[str, str]] = {
        "run": f"{_CHECK_KINDS[:-2]}: {' or '.join(get_args(Preset))})"
    }

    name: JobName = Field(description=_CHECK_NAME, examples=["lint"])
    run: Script = Field(
        description="The shell command(s) to run (bash, `set -euo pipefail`); multi-line allowed.",
        examples=["ruff check ."],
    )
    setup: Setup = Field(
        default=Setup(),
        description="Toolchains to install before `install` and `run`.",
        examples=[{"python": "3.12.8"}],
    )
    install: Script | None = Field(
        default=None,
        description="A command that installs dependencies, run before `run`.",
        examples=["pip install -r requirements-dev.txt"],
    )
    timeout_minutes: TimeoutMinutes = Field(default=30, description=_TIMEOUT)


class PresetCheck(Model):
    """A built-in security scan, run with pinned tools."""

    conflicts: ClassVar[dict[str, str]] = {"run": _CHECK_KINDS.format("...") + ", not both"}

    name: JobName = Field(description=_CHECK_NAME, examples=["secrets"])
    preset: Preset = Field(
        description="The built-in scan to run: "
        + "; ".join(f"`{name}`: {what}" for name, what in PRESETS.items())
        + ".",
        examples=["gitleaks"],
    )
    timeout_minutes: TimeoutMinutes = Field(default=30, description=_TIMEOUT)


def _check_kind(value: Any) -> str:
    """Route a check to its model by its keys, so errors speak of one kind of check only."""
    if isinstance(value, PresetCheck) or (isinstance(value, dict) and "preset" in value):
        return "preset"
    return "run"


Check = Annotated[
    Annotated[CommandCheck, Tag("run")] | Annotated[PresetCheck, Tag("preset")],
    Discriminator(_check_kind),
]


class Helm(Model):
    """The umbrella chart that deploys every environment."""

    chart: RepoPath = Field(
        description="The umbrella chart's directory, relative to the repository root.",
        examples=["deploy/helm/platform"],
    )
    release: HelmRelease | None = Field(
        default=None,
        description="The Helm release name. Default: the spec's `name`.",
        examples=["platform"],
    )
    global_values: bool = Field(
        default=True,
        description="Also set every image under `global.pipelinegen.images.<image>` "
        "(`reference`, `registry`, `repository`, `tag`, `digest`). Turn it off for a chart "
        "whose values schema allows no `global` key.",
    )


class Access(Model):
    """What the environment's deploy identity may create beyond its namespace. Without a grant it
    deploys namespaced objects, Roles and RoleBindings in its namespace, and custom resources there
    whose API version the cluster serves (`api_versions`) or whose CRD the chart carries."""

    cluster_kinds: list[KindName] = Field(
        default=[],
        description="Cluster-scoped kinds the chart may create, e.g. `ClusterRole`, "
        "`ClusterRoleBinding`, `CustomResourceDefinition`, `ValidatingWebhookConfiguration`, "
        "`PriorityClass`. A rendered cluster-scoped object of another kind is refused.",
        examples=[["ClusterRole", "ClusterRoleBinding"]],
    )
    cluster_roles: list[ClusterRoleName] = Field(
        default=[],
        description="The ClusterRoles the chart may create or bind (by a ClusterRoleBinding's or "
        "a RoleBinding's `roleRef`): the names the grant's `escalate` and `bind` verbs are "
        "limited to. Binding the built-in `admin`, `edit` and `view` in the namespace needs none.",
        examples=[["platform-controller"]],
    )
    cluster_admin: bool = Field(
        default=False,
        description="Let the deploy identity create anything in the cluster (`cluster-admin`). "
        "An opt-in for charts whose kinds cannot be listed; every other key is then unused.",
    )


class Network(Model):
    """The VPC an environment's deploy project runs in (CodeBuild `VpcConfig`)."""

    vpc: VpcId = Field(description="The VPC ID, in the tooling account and region.")
    subnets: list[SubnetId] = Field(
        min_length=1,
        max_length=16,
        description="Private subnets of the VPC (CodeBuild needs a NAT gateway or VPC endpoints "
        "to reach AWS APIs from them; public subnets do not work).",
    )
    security_groups: list[SecurityGroupId] = Field(
        default=[],
        max_length=5,
        description="Security groups for the deploy project. Default: one the pipeline stack "
        "creates, allowing outbound HTTPS (443) only.",
    )


class EnvironmentHelm(Model):
    """How Helm 4 applies the release in one environment."""

    force_conflicts: bool = Field(
        default=False,
        description="Take over fields another field manager owns (after a `kubectl scale`, "
        "an HPA or an edit): Helm's `--force-conflicts` with server-side apply. Default: such "
        "an upgrade fails, naming the manager and the field.",
    )


class Environment(Model):
    """One deployment target, in promotion order."""

    name: EnvironmentName = Field(
        description="The environment's name, unique; it names the pipeline stage.",
        examples=["staging"],
    )
    account: Account | None = Field(
        default=None,
        description="The AWS account of the EKS cluster. Default: `aws.account`.",
        examples=["222222222222"],
    )
    region: Region | None = Field(
        default=None,
        description="The AWS region of the EKS cluster. Default: `aws.region`.",
        examples=["us-east-1"],
    )
    cluster: ClusterName = Field(description="The EKS cluster name.", examples=["acme-staging"])
    namespace: Namespace = Field(
        description="The Kubernetes namespace of the Helm release.", examples=["platform"]
    )
    values: list[ValuesPath] = Field(
        default=[],
        description="Helm values files for this environment, relative to the repository root, "
        "applied in order after the chart's own values.",
        examples=[["deploy/helm/values-staging.yaml"]],
    )
    approval: bool = Field(
        default=False,
        description="Require a manual approval before deploying here: the pipeline's approval "
        "action (`delivery: aws`), or the required reviewers of the GitHub environment of this "
        "name (`delivery: github`; set them in the repository's settings).",
    )
    marketplace: bool = Field(
        default=False,
        description="Publish a new version to AWS Marketplace after this environment deploys. "
        "Needs the `marketplace` block; at most one environment may set it.",
    )
    kubernetes_version: KubernetesVersion | None = Field(
        default=None,
        description="The EKS cluster's Kubernetes version (`1.NN`): the chart is rendered with "
        "`--kube-version` set to it, and its objects checked against the API versions it "
        "serves. Default: " + DEFAULT_KUBERNETES_VERSION_TEXT + ".",
        examples=["1.34"],
    )
    api_versions: list[ApiVersion] = Field(
        default=[],
        description="API versions the cluster serves beyond Kubernetes' own, as `group/version` "
        "(the CRDs installed there, e.g. `monitoring.coreos.com/v1`): passed to the render as "
        "`--api-versions`, so `.Capabilities.APIVersions.Has` sees them, and the API versions "
        "custom resources in the namespace may use.",
        examples=[["monitoring.coreos.com/v1"]],
    )
    access: Access = Field(
        default=Access(),
        description="What the deploy identity may create beyond namespaced objects in "
        "`namespace`: cluster-scoped kinds, ClusterRoles, or everything.",
    )
    network: Network | None = Field(
        default=None,
        description="Where the deploy runs, for a cluster whose API endpoint is private or "
        "limited to some CIDRs (`delivery: aws`): the deploy project runs in this VPC of the "
        "tooling account and region (CodeBuild's `VpcConfig`). The subnets need a route to "
        "the cluster's endpoint and to STS, EKS and ECR (a NAT gateway, or VPC endpoints); see "
        "docs/cluster-access.md.",
    )
    runner: RunnerLabel | None = Field(
        default=None,
        description="`delivery: github`: the runner label this environment's deploy job runs "
        "on (a self-hosted or larger runner inside the cluster's network). Default: "
        "`github.runner`.",
        examples=["acme-staging-vpc"],
    )
    helm: EnvironmentHelm = Field(
        default=EnvironmentHelm(),
        description="How Helm applies the release in this environment.",
    )


# The Helm delivery option's fields and limits: AWS Marketplace Catalog API reference, "Work with
# container-based products" (AddDeliveryOptions, HelmDeliveryOptionDetails), with the lengths of
# awslabs/aws-marketplace-catalog-api-shapes-for-python (ContainerProduct@1.0 change types:
# AddDeliveryOptionsHelmDeliveryOptionDetails, OverrideParameter, Metadata).


class OverrideParameter(Model):
    """A Helm value the buyer may set when deploying the chart (an `OverrideParameters` entry of
    the Helm delivery option, with its `Metadata`)."""

    key: ValuesKey = Field(
        max_length=50,
        description="The values path the buyer sets, as in `helm install --set KEY=...` (at most "
        "50 characters). It may not be a path the chart reads an image from: the chart must run "
        "only the images in the Marketplace registry.",
        examples=["api.replicas"],
    )
    default: str | None = Field(
        default=None,
        min_length=1,
        max_length=150,
        pattern=r"^\S",
        description="The value offered by default (at most 150 characters), e.g. "
        "`${AWSMP_SERVICE_ACCOUNT}`, which AWS Marketplace replaces with the service account it "
        "creates (paid products). Default: the buyer must give one.",
        examples=["${AWSMP_SERVICE_ACCOUNT}"],
    )
    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        pattern=r"^\S",
        description="The name the buyer sees for the parameter (at most 50 characters). "
        "Default: `key`.",
        examples=["Replicas"],
    )
    description: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^\S",
        description="What the parameter does, shown to the buyer (at most 200 characters).",
        examples=["How many API pods to run."],
    )
    obfuscate: bool = Field(
        default=False,
        description="Hide the value the buyer types (a secret such as a license key).",
    )


class MarketplaceHelm(Model):
    """The Helm chart delivery option: the umbrella chart, packaged with every mapped image
    pointing at the seller's Marketplace repositories by digest, in the Marketplace repository
    `<seller_prefix>/<chart name>`."""

    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=72,
        pattern=r"^\S",
        description="The delivery option's title shown to buyers (at most 72 characters). "
        "Default: `delivery_option_title`; it must differ from it when both delivery options "
        "are published.",
        examples=["Helm chart for Amazon EKS"],
    )
    description: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        pattern=r"^\S",
        description="The delivery option's description (at most 1000 characters). Default: "
        "the block's `description`, else the title.",
    )
    compatible_services: list[HelmMarketplaceService] = Field(
        default=["EKS"],
        min_length=1,
        max_length=2,
        description="Where buyers can install the chart: `EKS` and/or `EKS-Anywhere`.",
        examples=[["EKS"]],
    )
    release_name: HelmRelease | None = Field(
        default=None,
        max_length=50,
        description="The Helm release name buyers install (at most 50 characters). Default: "
        "`helm.release`.",
        examples=["platform"],
    )
    namespace: Namespace | None = Field(
        default=None,
        max_length=50,
        description="The Kubernetes namespace the chart installs into (at most 50 characters). "
        "Default: the namespace of the environment that publishes.",
        examples=["platform"],
    )
    service_account: ServiceAccountName | None = Field(
        default=None,
        description="The Kubernetes service account AWS Marketplace creates for the chart "
        "(`MarketplaceServiceAccountName`, at most 50 characters); pass it to the chart with an "
        "override parameter whose default is `${AWSMP_SERVICE_ACCOUNT}`. Paid products need it "
        "for metering and licensing. Default: none.",
        examples=["platform"],
    )
    quick_launch: bool = Field(
        default=False,
        description="Offer Quick Launch, which creates an EKS cluster and installs the chart "
        "for the buyer (`QuickLaunchEnabled`).",
    )
    override_parameters: list[OverrideParameter] = Field(
        default=[],
        max_length=15,
        description="The values buyers may set at install time (at most 15), each with its "
        "description.",
    )


class Marketplace(Model):
    """The AWS Marketplace container product that releases are published to."""

    product_id: ProductId = Field(
        description="The container product's ID.", examples=["prod-abcdefghijklm"]
    )
    seller_prefix: SellerPrefix = Field(
        description="Your seller prefix: images go to the Marketplace repositories "
        "`<seller_prefix>/<image>`.",
        examples=["acme"],
    )
    compatible_services: list[MarketplaceService] = Field(
        default=["EKS"],
        min_length=1,
        max_length=4,
        description="Where buyers can run the product.",
        examples=[["EKS"]],
    )
    delivery_option_title: str = Field(
        min_length=1,
        max_length=72,
        description="The delivery option's title shown to buyers (at most 72 characters).",
        examples=["Helm on Amazon EKS"],
    )
    description: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="The delivery option's description (at most 1000 characters).",
    )
    usage_instructions: str = Field(
        min_length=1,
        description="How buyers deploy the product (at most 4000 characters): inline text, or "
        "the path of a `.md` or `.txt` file in the repository.",
        examples=["docs/marketplace-usage.md"],
    )
    delivery_options: list[DeliveryOption] = Field(
        default=["container-images"],
        min_length=1,
        max_length=2,
        description="What each release publishes, in one change set: `container-images` (the "
        "images alone, titled `delivery_option_title`) and/or `helm` (the chart with its "
        "images, set up by `helm:`).",
        examples=[["container-images", "helm"]],
    )
    helm: MarketplaceHelm = Field(
        default=MarketplaceHelm(),
        description="The Helm chart delivery option, used when `delivery_options` lists `helm`.",
    )


class Approvals(Model):
    """Who hears that a release waits for a manual approval."""

    topic_arn: SnsTopicArn | None = Field(
        default=None,
        description="The SNS topic to notify, in the tooling account's region. Default: the "
        "pipeline stack creates an encrypted topic (its ARN is the stack output "
        "`ApprovalTopicArn`); subscribe the approvers to it.",
    )


class Alarms(Model):
    """Who hears that a release failed."""

    topic_arn: SnsTopicArn | None = Field(
        default=None,
        description="The SNS topic to notify when a pipeline execution fails, in the tooling "
        "account's region. Default: the pipeline stack creates an encrypted topic (its ARN is "
        "the stack output `ReleaseFailedTopicArn`); subscribe the team to it.",
    )


class PatchOperation(Model):
    """One JSON Patch operation (RFC 6902) on a generated file."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(
        description="The operation, as RFC 6902 names it."
    )
    path: str = Field(
        description="A JSON Pointer (RFC 6901) into the file's data, e.g. "
        "`/jobs/lint/runs-on`; `~1` stands for `/` and `~0` for `~` in a key.",
        examples=["/jobs/lint/steps/-"],
    )
    value: Any = Field(
        default=None,
        description="The value to add, replace with or test for (`add`, `replace`, `test`).",
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="The JSON Pointer to move or copy from (`move`, `copy`).",
    )

    def operation(self) -> dict[str, Any]:
        """The operation as RFC 6902 writes it."""
        found: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op in ("add", "replace", "test"):
            found["value"] = self.value
        if self.op in ("move", "copy"):
            found["from"] = self.from_
        return found


class Install(Model):
    """Where the generated jobs install pipelinegen from, when not from the package index."""

    git: GitUrl = Field(
        description="The git repository that holds pipelinegen, over https.",
        examples=["https://github.com/acme/pipelinegen.git"],
    )
    commit: CommitSha = Field(
        description="The full SHA of the commit to install: the pipelinegen that compiled "
        "the files (the stale check fails otherwise).",
        examples=["0123456789abcdef0123456789abcdef01234567"],
    )


class PullRequests(Model):
    """What the generated pull-request workflow (`pipelinegen diff`) does with what it finds."""

    fail_on: Literal["high", "medium", "low", "none"] = Field(
        default="none",
        description="Fail the pull-request `diff` job when the change has a finding of this "
        "risk or higher (`pipelinegen diff --fail-on`); make the job a required status check "
        "so that such a change cannot merge without an administrator. `none`: the job reports "
        "and passes.",
        examples=["high"],
    )


class Spec(Model):
    """A pipelinegen spec: one file that compiles to GitHub Actions CI and AWS CodePipeline CD."""

    version: Literal[1] = Field(description="The spec format version. Always `1`.")
    name: Slug = Field(
        description="The project's slug: it names the stacks, the ECR repositories "
        "(`<name>/<image>`) and the default release bucket.",
        examples=["acme-platform"],
    )
    github: GitHub = Field(description="The GitHub repository and how CI runs there.")
    delivery: Literal["aws", "github"] = Field(
        default="aws",
        description="Where continuous delivery runs. `aws`: the release workflow uploads one "
        "zip to the S3 release bucket and a CodePipeline pushes, deploys and publishes it. "
        "`github`: the release workflow itself pushes, deploys (one job per environment, in "
        "promotion order, each in the GitHub environment of its name, whose required reviewers "
        "replace the manual approvals) and publishes, by OIDC, running the same scripts; the "
        "CDK app then deploys only the ECR repositories and the roles those jobs assume.",
        examples=["github"],
    )
    aws: Aws = Field(description="The AWS tooling account that holds the bucket and pipeline.")
    release: Release = Field(
        default=Release(), description="Where releases are handed over to AWS."
    )
    images: list[Image] = Field(
        min_length=1, description="The OCI images this repository builds, tests and ships."
    )
    checks: list[Check] = Field(
        default=[],
        description="CI checks: each runs as one job on every pull request and on the default "
        "branch; its name is the status-check name to require.",
    )
    helm: Helm = Field(description="The umbrella Helm chart that deploys every environment.")
    environments: list[Environment] = Field(
        min_length=1, description="Deployment targets, in promotion order."
    )
    marketplace: Marketplace | None = Field(
        default=None,
        description="The AWS Marketplace product; required when an environment sets "
        "`marketplace: true`.",
    )
    approvals: Approvals | None = Field(
        default=None,
        description="Notify approvers: each manual approval publishes to an SNS topic, with a "
        "link to the release on GitHub. `approvals: {}` has the pipeline stack create the "
        "topic. Unused with `delivery: github` (GitHub notifies the environments' reviewers).",
    )
    pipelinegen: Install | None = Field(
        default=None,
        description="Where the generated jobs that run pipelinegen (the stale check, the "
        "pull-request diff) install it from. Default: the package index, at the version that "
        "compiled the files. Either way its dependencies are pinned by hash.",
    )
    alarms: Alarms | None = Field(
        default=None,
        description="Notify the team when a release fails: every failed pipeline execution "
        "publishes to an SNS topic. `alarms: {}` has the pipeline stack create the topic. "
        "Unused with `delivery: github` (GitHub notifies about failed workflow runs).",
    )
    patches: dict[PatchTarget, list[PatchOperation]] = Field(
        default={},
        description="JSON Patch operations (RFC 6902) applied to generated files at compile "
        "time, by the file's repository path: a workflow (its YAML read as data) or a JSON "
        "file. Each list applies in order; an operation that does not apply is an error at its "
        "line. `diff` rates a patch by what it touches. For what patches cannot say, the CDK "
        "app imports `extend.py` beside `app.py` (never generated).",
        examples=[
            {
                ".github/workflows/pipelinegen-ci.yml": [
                    {"op": "replace", "path": "/jobs/lint/runs-on", "value": "ubuntu-24.04-arm"}
                ]
            }
        ],
    )
    pull_requests: PullRequests = Field(
        default=PullRequests(),
        description="The pull-request workflow's gate: which findings of `pipelinegen diff` "
        "fail its job.",
    )
    third_party_images: list[ThirdPartyImage] = Field(
        default=[],
        description="Images the chart runs that `images` does not build, each pinned by digest. "
        "The chart check refuses any rendered image that is neither a spec image nor declared "
        "here (see docs/chart-check.md).",
    )

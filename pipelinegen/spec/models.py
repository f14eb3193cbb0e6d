"""The spec, format version 1: the public contract of `pipeline.yaml`.

Every field has a markdown description, because the JSON Schema — and so every editor hover and
the spec reference (docs/spec.md) — is generated from these models. Values are validated by types
(`pipelinegen.spec.types`); rules that relate several fields live in `pipelinegen.spec.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from pipelinegen.spec.types import (
    PRESETS,
    Account,
    BranchName,
    BucketName,
    BuildArgName,
    BuildArgValue,
    ClusterName,
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
    MarketplaceService,
    Namespace,
    OidcProviderArn,
    Platform,
    Preset,
    ProductId,
    Region,
    RelativePath,
    RepoPath,
    Runner,
    Script,
    SellerPrefix,
    ServiceAccountName,
    Slug,
    SnsTopicArn,
    StageName,
    TagPattern,
    TimeoutMinutes,
    ToolVersion,
    ValuesKey,
    ValuesPath,
    ZipKey,
)


class Model(BaseModel):
    """The one strict base: unknown keys are errors, values are never coerced, specs are frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, regex_engine="python-re", defer_build=True
    )


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
    enterprise_server: bool = Field(
        default=False,
        description="The repository lives on GitHub Enterprise Server, which has no `$/` "
        "self-repository syntax: the release calls the CI workflow as "
        "`./.github/workflows/...` instead (on GitHub.com `$/`, which needs runner 2.336.0 or "
        "newer).",
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
        description="Run the CI workflow on the tagged commit inside the release, and upload "
        "only when every check passes. `false` releases without running the checks.",
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
    values: ValuesKey | list[ValuesKey | ImageValues] = Field(
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

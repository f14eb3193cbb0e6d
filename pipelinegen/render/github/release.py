"""The release workflow: every image built once as an OCI archive, scanned, packaged into one zip
uploaded to S3 by OIDC (or delivered by the jobs of deliver.py).

Who may release is decided before anything is built: the `gate` job refuses a run in another
repository (or under another casing of its name, which the OIDC trust would deny) and, unless the
spec relaxes it, a tag whose commit is not on the default branch. With `release.require_ci` it
then reads the tagged commit's check runs (check-runs.py): the CI jobs that did not pass there
run here, as `ci-<job>` jobs whose steps run only for those (the others finish at once), and
every one of them finishes before any image job starts, so no code from a check runs while a
release artifact can still be written.

Each `image-<name>` job builds its archive once and publishes its sha256 and index digest as job
outputs; `scan` and `package` download each archive by its exact artifact name and refuse one
whose sha256 differs, so the scan reads exactly what is packaged, and a finding stops the release
before packaging. `package` needs every job before it (GitHub skips a job whose needs did not
all succeed) and runs in the release environment, the one the upload role trusts.

The zip's layout is the handoff contract (see naming.py and the packaging script); the plan the
script follows is data written beside it, so the script itself is the same for every spec.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import replace

from pipelinegen import naming, retries
from pipelinegen.chart.render import shipped
from pipelinegen.render.github.actions import action
from pipelinegen.render.github.ci import release_checks
from pipelinegen.render.github.deliver import IMAGES_ZIP, RELEASE_ZIP, deliver_jobs, keep_release
from pipelinegen.render.github.images import (
    ARTIFACT_PREFIX,
    IMAGES_DIR,
    archive_outputs,
    archive_steps,
    fetch_archive_steps,
    scan_steps,
)
from pipelinegen.render.github.jobs import (
    READ_CONTENTS,
    Job,
    Permission,
    Step,
    checkout,
    helm_steps,
)
from pipelinegen.render.templating import render
from pipelinegen.spec.models import Image, PresetCheck, Spec
from pipelinegen.spec.rules import is_file_reference

IMAGE_JOB_PREFIX = ARTIFACT_PREFIX
VERSION_JOB = "version"
GATE_JOB = "gate"
CHECK_JOB_PREFIX = "ci-"  # a CI job the release runs when it did not pass on the tagged commit
SCAN_JOB = "scan"
PACKAGE_JOB = "package"
CHECKS_STEP = "checks"
RERUN_OUTPUT = "rerun"
# How long the gate waits for the tagged commit's CI jobs still running, and for its CI run to
# start; the gate job's timeout leaves room for both.
CHECKS_WAIT_SECONDS = 1200
CHECKS_APPEAR_SECONDS = 120
CHECKS_POLL_SECONDS = 15
READ_CHECKS = Permission(
    "checks", "read", "to read the tagged commit's check runs: which CI jobs passed there"
)


def release_workflow(spec: Spec, *, header: str, spec_path: str, spec_sha256: str) -> str:
    checks = release_checks(spec, spec_path=spec_path) if spec.release.require_ci else []
    gate = _gate(spec, [job.id for job in checks])
    jobs = [_version(spec), gate, *(_rerun(job) for job in checks)]
    before_images = [job.id for job in jobs]
    images = [_image(spec, image, needs=before_images) for image in spec.images]
    jobs += images
    if any(isinstance(c, PresetCheck) and c.preset == "trivy-image" for c in spec.checks):
        built_by = {image.name: f"{IMAGE_JOB_PREFIX}{image.name}" for image in spec.images}
        jobs.append(
            Job(SCAN_JOB, 30, scan_steps(spec, built_by, cache=False), needs=[i.id for i in images])
        )
    package = _package(spec, needs=[job.id for job in jobs])
    jobs.append(package)
    if spec.delivery == "github":
        jobs += deliver_jobs(spec, spec_sha256=spec_sha256, needs=[package.id])
    return render(
        "github/release.yml.j2",
        header=header,
        tags=spec.github.release_tags,
        runner=spec.github.runner,
        jobs=jobs,
        aws_retries=retries.ENVIRONMENT,
    )


COPY_THIRD_PARTY = "Copy the third-party images into the release"


def release_plan(spec: Spec, *, spec_sha256: str, generated_by: str) -> str:
    """What the packaging script puts in the zip, as JSON."""
    values = sorted({path for env in spec.environments for path in env.values})
    plan = {
        "generated_by": generated_by,
        "format": naming.RELEASE_FORMAT,
        "project": spec.name,
        "spec_sha256": spec_sha256,
        "images": [
            *({"name": image.name, "platforms": image.platforms} for image in spec.images),
            *(
                {"name": image.name, "third_party": image.image}
                for image in spec.third_party_images
            ),
        ],
        "cdk": naming.CDK_APP_DIR,
        "chart": spec.helm.chart,
        "values": values,
        "marketplace_files": _marketplace_files(spec),
    }
    return json.dumps(plan, indent=2) + "\n"


def _copy_third_party(spec: Spec) -> list[Step]:
    """Each declared third-party image, every platform, copied by its digest from its registry
    into an OCI archive beside the built ones, so the release carries it and delivery fetches
    nothing from outside (the packager refuses an archive whose digest is not the declared one),
    with the pinned skopeo the pipeline installs (install-skopeo.sh). skopeo takes no tag beside
    a digest: the source is `<repository>@<digest>`. An OCI image layout holds OCI images only
    (containers/image's `oci:` transport), so an image in Docker's format cannot be kept by its
    digest: the error says to mirror it in OCI format."""
    check = shipped("chart_check")
    sources = "\n".join(
        f"{image.name} {check.repository_of(image.image)}@{check.digest_of(image.image)}"
        for image in spec.third_party_images
    )
    install = Step(
        "Install the pinned skopeo",
        env={"PIPELINE_JSON": naming.CDK_SPEC},
        run='INSTALL_DIR="$RUNNER_TEMP/skopeo" '
        f"bash {naming.CDK_APP_DIR}/scripts/install-skopeo.sh\n"
        'echo "$RUNNER_TEMP/skopeo/bin" >>"$GITHUB_PATH"',
    )
    copy = Step(
        COPY_THIRD_PARTY,
        env={"THIRD_PARTY": sources},
        run="while read -r name source; do\n"
        '  if ! skopeo copy --all --preserve-digests --retry-times 3 "docker://$source" \\\n'
        f'    "oci-archive:{IMAGES_DIR}/$name.oci.tar"; then\n'
        '    echo "::error title=third-party image not copied::$source ($name) could not be copied'
        " by its digest: check that the registry has that digest; an image in Docker's format (a"
        " Docker manifest list) cannot be kept by its digest in the release's OCI image layout:"
        ' mirror it in OCI format and declare the mirror (docs/chart-check.md)" >&2\n'
        "    exit 1\n"
        "  fi\n"
        'done <<<"$THIRD_PARTY"',
    )
    return [install, copy]


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


def _gate(spec: Spec, required: list[str]) -> Job:
    """Refuse the release early: the wrong repository (or casing) always, and a tag off the
    default branch unless the spec allows it (the checkout then holds the default branch's
    history, fetch-depth 0, which the reachability check reads). Then, for `require_ci`, which
    of the `required` CI jobs did not pass on the tagged commit: the job's `rerun` output."""
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
    if not required:
        return Job(GATE_JOB, 10, steps)
    steps.append(
        Step(
            "Find the CI jobs that did not pass on this commit",
            env={
                "GITHUB_TOKEN": "${{ github.token }}",
                "REQUIRED": " ".join(required),
                "WAIT_SECONDS": str(CHECKS_WAIT_SECONDS),
                "APPEAR_SECONDS": str(CHECKS_APPEAR_SECONDS),
                "POLL_SECONDS": str(CHECKS_POLL_SECONDS),
            },
            run=f'python3 {naming.CHECK_RUNS_SCRIPT} --commit "$(git rev-parse HEAD)" '
            '--required "$REQUIRED" --wait-seconds "$WAIT_SECONDS" '
            '--appear-seconds "$APPEAR_SECONDS" --poll-seconds "$POLL_SECONDS" '
            '>>"$GITHUB_OUTPUT"',
            id=CHECKS_STEP,
        )
    )
    minutes = 10 + (CHECKS_WAIT_SECONDS + CHECKS_APPEAR_SECONDS) // 60
    return Job(
        GATE_JOB,
        minutes,
        steps,
        permissions=[READ_CONTENTS, READ_CHECKS],
        outputs={RERUN_OUTPUT: f"${{{{ steps.{CHECKS_STEP}.outputs.{RERUN_OUTPUT} }}}}"},
    )


def _rerun(job: Job) -> Job:
    """A CI job as the release runs it: after the gate, every step only when the gate found the
    job not passed on the tagged commit (so a passed one finishes in seconds, running nothing)."""
    condition = f"contains(fromJSON(needs.{GATE_JOB}.outputs.{RERUN_OUTPUT}), '{job.id}')"
    steps = [replace(step, condition=condition) for step in job.steps]
    return Job(
        f"{CHECK_JOB_PREFIX}{job.id}",
        job.timeout,
        steps,
        permissions=job.permissions,
        needs=[GATE_JOB],
    )


def _image(spec: Spec, image: Image, *, needs: list[str]) -> Job:
    """The image's one build in the release, as an OCI archive, after every check finished. No
    cache: a release is built from the tagged source alone."""
    steps = [checkout(), *archive_steps(spec, image)]
    return Job(f"{IMAGE_JOB_PREFIX}{image.name}", 60, steps, needs=needs, outputs=archive_outputs())


def _package(spec: Spec, *, needs: list[str]) -> Job:
    """Package the release as two zips, the release and its images (one OCI image layout), and
    hand them over: to the release bucket, images first (the release zip's upload starts the
    pipeline, which takes the newest images object), or, with `delivery: github`, to the jobs
    below as artifacts of this run."""
    steps = [checkout()]
    for image in spec.images:
        steps += fetch_archive_steps(image.name, f"{IMAGE_JOB_PREFIX}{image.name}")
    if spec.third_party_images:
        steps += _copy_third_party(spec)
    steps += [
        *helm_steps(spec),
        Step(
            "Package the release",
            env={
                "RELEASE_VERSION": "${{ github.ref_name }}",
                "GIT_SHA": "${{ github.sha }}",
                "PLAN": naming.RELEASE_PLAN,
            },
            run=f'python3 {naming.PACKAGE_SCRIPT} --plan "$PLAN" --images {IMAGES_DIR} '
            f"--out {RELEASE_ZIP} --images-out {IMAGES_ZIP}",
        ),
    ]
    if spec.delivery == "github":  # the jobs after this one deliver it (deliver.py)
        kept, outputs = keep_release()
        return Job(PACKAGE_JOB, 30, [*steps, *kept], needs=needs, outputs=outputs)
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
                "IMAGES_KEY": naming.images_key(spec),
                "RELEASE_VERSION": "${{ github.ref_name }}",
            },
            run=f'aws s3 cp {IMAGES_ZIP} "s3://$BUCKET/$IMAGES_KEY" --no-progress '
            '--metadata "release-version=$RELEASE_VERSION"\n'
            f'aws s3 cp {RELEASE_ZIP} "s3://$BUCKET/$KEY" --no-progress '
            '--metadata "release-version=$RELEASE_VERSION"',
        ),
    ]
    id_token = Permission(
        "id-token", "write", "to assume the upload role in AWS by OIDC, without stored keys"
    )
    return Job(
        PACKAGE_JOB,
        30,
        steps,
        permissions=[READ_CONTENTS, id_token],
        needs=needs,
        environment=spec.release.environment,
    )

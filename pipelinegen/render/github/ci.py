"""The CI workflow: a job per check, a build job per image, and the stale check.

Each image is built once per run: when the spec scans images (`preset: trivy-image`), its build
job writes the OCI archive, publishes its digests as job outputs and keeps it as an artifact of
the run; the scan job downloads each by name, refuses one whose sha256 differs, and scans it.
"""

from __future__ import annotations

from pipelinegen import naming
from pipelinegen.render.github.actions import action, tool
from pipelinegen.render.github.images import archive_outputs, archive_steps, build_steps, scan_steps
from pipelinegen.render.github.install import chart_install_steps, install_steps
from pipelinegen.render.github.jobs import (
    Job,
    Step,
    checkout,
    helm_steps,
    toolchains,
)
from pipelinegen.render.templating import render
from pipelinegen.spec.models import CommandCheck, Image, PresetCheck, Spec


def ci_workflow(spec: Spec, *, header: str, spec_path: str) -> str:
    """The CI workflow, on pull requests and on pushes to the default branch (the run whose
    check runs a release reads on the tagged commit)."""
    return render(
        "github/ci.yml.j2",
        header=header,
        default_branch=spec.github.default_branch,
        runner=spec.github.runner,
        jobs=ci_jobs(spec, spec_path=spec_path),
    )


def ci_jobs(spec: Spec, *, spec_path: str) -> list[Job]:
    """Every CI job: the checks, an image build each, the chart check and the stale check."""
    jobs = [*(_check(spec, check) for check in spec.checks)]
    jobs += [_build(spec, image) for image in spec.images]
    jobs.append(_chart(spec))
    jobs.append(_stale_check(spec, spec_path))
    return jobs


def scans_images(spec: Spec) -> bool:
    return any(isinstance(c, PresetCheck) and c.preset == "trivy-image" for c in spec.checks)


def release_checks(spec: Spec, *, spec_path: str) -> list[Job]:
    """The CI jobs a release requires to have passed on the tagged commit: all but the image
    builds and image scans, which the release does itself on the archives it ships."""
    builds = {naming.build_job(image.name) for image in spec.images}
    scans = {
        c.name for c in spec.checks if isinstance(c, PresetCheck) and c.preset == "trivy-image"
    }
    return [job for job in ci_jobs(spec, spec_path=spec_path) if job.id not in builds | scans]


def _check(spec: Spec, check: CommandCheck | PresetCheck) -> Job:
    if isinstance(check, CommandCheck):
        steps = [checkout(), *toolchains(check.setup)]
        if check.install:
            steps.append(Step("Install", run=check.install))
        steps.append(Step("Run", run=check.run))
        return Job(check.name, check.timeout_minutes, steps)
    if check.preset == "gitleaks":
        return Job(check.name, check.timeout_minutes, _gitleaks())
    built_by = {image.name: naming.build_job(image.name) for image in spec.images}
    return Job(
        check.name,
        check.timeout_minutes,
        scan_steps(spec, built_by, cache=True),
        needs=sorted(built_by.values()),
    )


def _gitleaks() -> list[Step]:
    """gitleaks over the whole history, built from its Go module: the Go checksum database
    verifies the pinned release, with no binary download to trust."""
    gitleaks = tool("gitleaks")
    return [
        checkout(full_history=True),
        Step("Set up Go", action("actions/setup-go"), {"go-version": "stable", "cache": False}),
        Step(
            f"Install gitleaks {gitleaks.version}",
            env={"GITLEAKS": f"{gitleaks.source}@{gitleaks.version}"},
            run='go install "$GITLEAKS"',
        ),
        Step("Scan the git history for secrets", run="gitleaks git --redact --verbose ."),
    ]


def _build(spec: Spec, image: Image) -> Job:
    """The image's one build of the run: validation only, or (when the spec scans images) the
    archive the scan job reads, its digests published as the job's outputs."""
    cache = f"type=gha,scope={image.name}"
    inputs = {"cache-from": cache, "cache-to": f"{cache},mode=max"}
    job_id = naming.build_job(image.name)
    if not scans_images(spec):
        steps = build_steps(spec, image, push=False, **inputs)
        return Job(job_id, 60, [checkout(), *steps])
    steps = archive_steps(spec, image, **inputs)
    return Job(job_id, 60, [checkout(), *steps], outputs=archive_outputs())


def _stale_check(spec: Spec, spec_path: str) -> Job:
    steps = [
        checkout(),
        *install_steps(spec),
        Step(
            "Check that the generated files are current",
            env={"SPEC": spec_path},
            run='pipelinegen compile --check "$SPEC"',
        ),
    ]
    return Job(naming.STALE_CHECK_JOB, 10, steps)


def _chart(spec: Spec) -> Job:
    """The chart check (chart_check.py) for every environment with the pinned Helm: rendered as
    the deploy will, as install and as upgrade, for the environment's Kubernetes version and API
    versions; it fails on an image the spec does not account for, an object the environment's
    access cannot create, an API version its Kubernetes version does not serve, or an object its
    OpenAPI schemas refuse (kubernetes-validate, installed by hash)."""
    scripts = f"{naming.CDK_APP_DIR}/scripts"
    steps = [checkout(), *chart_install_steps(), *helm_steps(spec)]
    for environment in spec.environments:
        steps.append(
            Step(
                f"Render {environment.name}",
                env={
                    "ENVIRONMENT": environment.name,
                    "CHART": spec.helm.chart,
                    "NAMESPACE": environment.namespace,
                    "VALUES_FILES": " ".join(environment.values),
                    "ECR_REGISTRY": naming.ecr_registry(spec),
                    "PIPELINE": naming.CDK_SPEC,
                },
                run=f"bash {scripts}/render-chart.sh",
            )
        )
    return Job(naming.CHART_JOB, 15, steps)

"""The CI workflow: a job per check, a build-validation job per image, and the stale check."""

from __future__ import annotations

from pipelinegen import naming
from pipelinegen.render.github.actions import action, tool
from pipelinegen.render.github.images import build_step, build_steps
from pipelinegen.render.github.install import install_steps
from pipelinegen.render.github.jobs import (
    Job,
    Step,
    buildx,
    checkout,
    helm_steps,
    toolchains,
)
from pipelinegen.render.templating import render
from pipelinegen.spec.models import CommandCheck, Image, PresetCheck, Spec


def ci_workflow(spec: Spec, *, header: str, spec_path: str) -> str:
    """The CI workflow; callable (`workflow_call`), so a release can run it on the tag."""
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


def _check(spec: Spec, check: CommandCheck | PresetCheck) -> Job:
    if isinstance(check, CommandCheck):
        steps = [checkout(), *toolchains(check.setup)]
        if check.install:
            steps.append(Step("Install", run=check.install))
        steps.append(Step("Run", run=check.run))
        return Job(check.name, check.timeout_minutes, steps)
    if check.preset == "gitleaks":
        return Job(check.name, check.timeout_minutes, _gitleaks())
    return Job(check.name, check.timeout_minutes, _trivy_images(spec))


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


def _trivy_images(spec: Spec) -> list[Step]:
    """Build each image for linux/amd64 into the runner's Docker, then scan it."""
    trivy = tool("trivy")
    steps = [checkout(), *buildx(emulate=spec.github.runner.endswith("-arm"))]
    for image in spec.images:
        reference = f"pipelinegen-scan/{image.name}:ci"
        steps.append(
            build_step(image, load=True, push=False, tags=reference, platforms="linux/amd64")
        )
        steps.append(
            Step(
                f"Scan {image.name}",
                action("aquasecurity/trivy-action"),
                {
                    "image-ref": reference,
                    "version": trivy.version,
                    "severity": "HIGH,CRITICAL",
                    "ignore-unfixed": True,
                    "exit-code": "1",
                },
            )
        )
    return steps


def _build(spec: Spec, image: Image) -> Job:
    cache = f"type=gha,scope={image.name}"
    steps = build_steps(
        spec, image, push=False, **{"cache-from": cache, "cache-to": f"{cache},mode=max"}
    )
    return Job(naming.build_job(image.name), 60, [checkout(), *steps])


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
    access cannot create, or an API version its Kubernetes version does not serve."""
    scripts = f"{naming.CDK_APP_DIR}/scripts"
    steps = [checkout(), *helm_steps(spec)]
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

"""Jobs and steps as plain data: what the workflow templates lay out.

Every action comes from the vetted table (`actions.py`); values from the spec travel in these
objects and enter the YAML only through the templates' serializing filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelinegen import naming
from pipelinegen.render.cdk.versions import HELM
from pipelinegen.render.github.actions import Action, action
from pipelinegen.spec.models import Setup, Spec


@dataclass(frozen=True)
class Permission:
    scope: str
    access: str
    why: str = ""  # zizmor (auditor) wants every permission but `contents: read` explained


READ_CONTENTS = Permission("contents", "read")


@dataclass(frozen=True)
class Step:
    name: str
    uses: Action | None = None
    inputs: dict[str, str | int | bool] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    run: str | None = None
    condition: str = ""  # the step's `if:`
    working_directory: str = ""  # the step's `working-directory:` (a `run:` step's)


@dataclass(frozen=True)
class Job:
    id: str
    timeout: int
    steps: list[Step]
    permissions: list[Permission] = field(default_factory=lambda: [READ_CONTENTS])
    needs: list[str] = field(default_factory=list)
    environment: str = ""  # the GitHub environment the job runs in (its protection rules apply)
    workflow: str = ""  # a reusable workflow this job calls instead of running steps
    workflow_note: str = ""  # a comment above the call: what it is
    workflow_ignore: str = ""  # an inline linter ignore on the call, with its reason


def calling(
    job_id: str, workflow: str, jobs: list[Job], *, needs: list[str], enterprise_server: bool
) -> Job:
    """A job that runs a reusable workflow of this repository at the running commit, granted
    exactly the permissions its jobs declare (a called workflow's jobs can use no more than its
    caller grants).

    On GitHub.com the call is `$/`, GitHub's self-repository form ("Reference same-repository
    actions with self-repository syntax", GitHub changelog, 2026-07-30: runner 2.336.0 or
    newer), which zizmor 1.32's `self-repository` audit asks for instead of `./`. GitHub
    Enterprise Server has no `$/` ("find and customize actions", GHES 3.21 docs), so there the
    call is `./`, which for a reusable workflow also resolves in this repository at the running
    commit, with the audit ignored inline and the reason beside it."""
    granted: dict[str, Permission] = {}
    for permission in (p for job in jobs for p in job.permissions):
        held = granted.get(permission.scope)
        if held is None or (held.access == "read" and permission.access == "write"):
            granted[permission.scope] = permission
    permissions = [granted[scope] for scope in sorted(granted)]
    if enterprise_server:
        note = "this repository's workflow at the running commit (GitHub Enterprise Server)"
        ignore = "zizmor: ignore[self-repository] GitHub Enterprise Server has no $/ syntax"
        target = f"./{workflow}"
    else:
        note = (
            "$/ calls this repository's own workflow at the running commit "
            "(GitHub.com; runner 2.336.0+)"
        )
        ignore, target = "", f"$/{workflow}"
    return Job(
        job_id, 0, [], permissions=permissions, needs=needs, workflow=target,
        workflow_note=note, workflow_ignore=ignore,
    )  # fmt: skip


def checkout(*, full_history: bool = False) -> Step:
    """Check out without leaving the token in .git/config (zizmor: artipacked)."""
    inputs: dict[str, str | int | bool] = {"persist-credentials": False}
    if full_history:
        inputs["fetch-depth"] = 0
    return Step("Check out", action("actions/checkout"), inputs)


def toolchains(setup: Setup) -> list[Step]:
    """The official setup action for each toolchain a check asks for, in a fixed order.

    Their caches stay off: zizmor counts a cache in a workflow that runs on a release-like
    branch as a poisoning risk, and correctness beats the minute a cache saves."""
    candidates: list[tuple[str | None, str, str, dict[str, str | int | bool]]] = [
        (setup.python, "Python", "actions/setup-python", {"python-version": setup.python or ""}),
        (
            setup.node,
            "Node.js",
            "actions/setup-node",
            {"node-version": setup.node or "", "package-manager-cache": False},
        ),
        (setup.go, "Go", "actions/setup-go", {"go-version": setup.go or "", "cache": False}),
        (
            setup.java,
            "Java",
            "actions/setup-java",
            {"distribution": "temurin", "java-version": setup.java or ""},
        ),
    ]
    return [
        Step(f"Set up {label}", action(repository), inputs)
        for version, label, repository, inputs in candidates
        if version
    ]


def buildx(*, emulate: bool) -> list[Step]:
    """Buildx (the docker-container driver, which can export OCI archives), plus QEMU when an
    image is built for a platform the runner cannot execute."""
    steps = [Step("Set up QEMU", action("docker/setup-qemu-action"))] if emulate else []
    steps.append(Step("Set up Docker Buildx", action("docker/setup-buildx-action")))
    return steps


# `helm dependency build` finds https:// repositories only among the added ones (it says "no
# repository definition for <url>" otherwise; Helm 4.1.4, tried): add each one the chart names.
BUILD_DEPENDENCIES = """\
list="$RUNNER_TEMP/dependencies.txt"
helm dependency list "$CHART" >"$list"
n=0
while read -r url; do
  n=$((n + 1))
  helm repo add "pipelinegen-$n" "$url"
done < <(awk 'NR > 1 && $3 ~ /^https?:[/][/]/ { print $3 }' "$list" | sort -u)
helm dependency build "$CHART"
"""


def helm_steps(spec: Spec) -> list[Step]:
    """The pinned Helm 4 (the deploy's own, sha256-checked by the CDK app's install-helm.sh), then
    the chart's dependencies built against its lock file: `file://` ones packaged from the
    repository, remote ones fetched at the versions Chart.lock pins (Helm refuses a lock out of
    sync with Chart.yaml)."""
    return [
        Step(
            f"Install Helm {HELM['version']}",
            env={"HELM_VERSION": HELM["version"], "HELM_SHA256": HELM["sha256"]},
            run='mkdir -p "$RUNNER_TEMP/helm"\n'
            f'INSTALL_DIR="$RUNNER_TEMP/helm" bash {naming.CDK_APP_DIR}/scripts/install-helm.sh\n'
            'echo "$RUNNER_TEMP/helm" >>"$GITHUB_PATH"',
        ),
        Step(
            "Build the chart's dependencies", env={"CHART": spec.helm.chart}, run=BUILD_DEPENDENCIES
        ),
    ]

"""The pull-request workflow: `pipelinegen diff` as a job summary and a sticky comment."""

from __future__ import annotations

from pipelinegen import naming
from pipelinegen.render.github.actions import action
from pipelinegen.render.github.install import install_steps
from pipelinegen.render.github.jobs import (
    READ_CONTENTS,
    Job,
    Permission,
    Step,
    checkout,
    helm_steps,
)
from pipelinegen.render.templating import render
from pipelinegen.spec.models import Spec

REPORT = "${{ runner.temp }}/pipelinegen-diff.md"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


# A chart's `file://` subcharts may sit anywhere in the repository, and a workflow's paths
# filter cannot read Chart.yaml to find them: these globs match the files that make any chart
# (Helm's chart layout, helm.sh/docs/topics/charts), so a change to a subchart outside the
# chart's folder still runs the diff. The cost is a run (and a "no change" comment) for a pull
# request that edits an unrelated folder named `templates`.
CHART_FILES = (
    "**/Chart.yaml",
    "**/Chart.lock",
    "**/requirements.yaml",
    "**/requirements.lock",
    "**/values.yaml",
    "**/values.schema.json",
    "**/templates/**",
    "**/charts/**",
)


def chart_paths(spec: Spec) -> list[str]:
    """What the clusters get besides the pipeline: the chart, subcharts, every environment's
    values files."""
    values = sorted({file for environment in spec.environments for file in environment.values})
    folder = "**" if spec.helm.chart == "." else f"{spec.helm.chart}/**"
    return [folder, *CHART_FILES, *values]


def pr_workflow(spec: Spec, *, header: str, spec_path: str) -> str:
    paths = [
        spec_path,
        f"{naming.WORKFLOWS_DIR}/pipelinegen-*.yml",
        f"{naming.SCRIPTS_DIR}/**",
        f"{naming.STATE_DIR}/**",
        f"{naming.CDK_APP_DIR}/**",
        *chart_paths(spec),
    ]
    steps = [
        checkout(full_history=True),  # the base revision, to compile it too
        *install_steps(spec),
        # The pinned Helm, as the CI chart job installs it; `diff` renders the chart with it at
        # both revisions, with local and vendored dependencies only (nothing is fetched).
        helm_steps(spec)[0],
        _compare(spec, spec_path),
        Step(
            "Comment on the pull request",
            action("marocchino/sticky-pull-request-comment"),
            {"header": "pipelinegen", "path": REPORT},
            condition=f"${{{{ !cancelled() && {SAME_REPOSITORY} }}}}",
        ),
    ]
    comment = Permission(
        "pull-requests", "write", "to create or update the one comment that shows the diff"
    )
    job = Job("diff", 15, steps, permissions=[READ_CONTENTS, comment])
    return render(
        "github/pr.yml.j2", header=header, paths=paths, runner=spec.github.runner, jobs=[job]
    )


def _compare(spec: Spec, spec_path: str) -> Step:
    """`pipelinegen diff` into the job summary; with `pull_requests.fail_on`, a finding of
    that risk or higher fails the job (after the summary and the comment are written)."""
    env = {"SPEC": spec_path, "BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
    gate = ""
    if spec.pull_requests.fail_on != "none":
        env["FAIL_ON"] = spec.pull_requests.fail_on
        gate = ' --fail-on "$FAIL_ON"'
    return Step(
        "Compare with the base branch",
        env=env,
        run=(
            'report="$RUNNER_TEMP/pipelinegen-diff.md"\n'
            "status=0\n"
            f'pipelinegen diff "$SPEC" --base "$BASE_SHA"{gate} --format markdown > "$report" '
            "|| status=$?\n"
            'cat "$report" >> "$GITHUB_STEP_SUMMARY"\n'
            'exit "$status"\n'
        ),
    )

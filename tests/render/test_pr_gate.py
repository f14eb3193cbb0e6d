"""`pull_requests.fail_on` reaches the pull-request job as written: its compare step, run as the
workflow writes it (its `env:`, `bash -e`) with a stand-in `pipelinegen` on PATH that records its
arguments, passes `--fail-on LEVEL`, writes the report into the job summary, and fails the job
when diff fails; without the key the step passes no gate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT
from tests.steps import run_step

STEP = "Compare with the base branch"
STAND_IN = """#!/bin/sh
printf '%s\\n' "$@" > "$ARGS_FILE"
echo "## pipelinegen diff (stand-in)"
exit "$DIFF_EXIT"
"""


def compare_step(example: str) -> dict[str, Any]:
    path = ROOT / "examples" / example / ".github" / "workflows" / "pipelinegen-pr.yml"
    steps = YAML(typ="safe").load(path.read_text())["jobs"]["diff"]["steps"]
    [step] = [s for s in steps if s.get("name") == STEP]
    return step  # type: ignore[no-any-return]


@pytest.mark.parametrize(("example", "gate"), [("github-delivery", "high"), ("full", None)])
@pytest.mark.parametrize("diff_exit", [0, 1])
def test_the_gate_is_passed_and_a_failing_diff_fails_the_job(
    tmp_path: Path, example: str, gate: str | None, diff_exit: int
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pipelinegen").write_text(STAND_IN)
    (bin_dir / "pipelinegen").chmod(0o755)
    summary, args = tmp_path / "summary.md", tmp_path / "args.txt"
    done = run_step(
        compare_step(example),
        cwd=tmp_path,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_STEP_SUMMARY": str(summary),
            "ARGS_FILE": str(args),
            "DIFF_EXIT": str(diff_exit),
        },
        expressions={"github.event.pull_request.base.sha": "b" * 40},
    )
    assert done.returncode == diff_exit, done.stdout
    assert "pipelinegen diff (stand-in)" in summary.read_text()
    argv = args.read_text().splitlines()
    assert argv[:4] == ["diff", "pipeline.yaml", "--base", "b" * 40]
    if gate is None:
        assert "--fail-on" not in argv
    else:
        assert argv[argv.index("--fail-on") + 1] == gate

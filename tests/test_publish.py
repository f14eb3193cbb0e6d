"""pipelinegen's own publish workflow: clean by the field's linters, and its build job's shell
steps run for real on a fresh clone (hash-pinned build tools, sdist and wheel, twine check)."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen import __version__
from pipelinegen.render.github.actions import ACTIONS
from tests.conftest import ROOT
from tests.snapshot import Snapshot, git
from tests.steps import run_step, shell_steps

WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
TOOLS = ROOT / ".venv-tools" / "bin"


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(WORKFLOW)
    return loaded


@pytest.mark.parametrize(
    "command",
    [
        [TOOLS / "actionlint", "-shellcheck", TOOLS / "shellcheck"],
        [TOOLS / "zizmor", "--offline", "--persona=auditor", "--format=plain"],
        [TOOLS / "check-jsonschema", "--builtin-schema", "vendor.github-workflows"],
    ],
    ids=["actionlint", "zizmor", "github-workflows-schema"],
)
def test_the_publish_workflow_is_clean(command: list[Path | str]) -> None:
    done = subprocess.run(
        [*command, WORKFLOW], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_publishes_by_trusted_publishing_only() -> None:
    jobs = _workflow()["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    uses = [s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s]
    vetted = {action.uses() for action in ACTIONS.values()}
    # The publishing action is pinned here only: the commit its tag v1.8.14 points to.
    publisher = "pypa/gh-action-pypi-publish@81e9d935c883d0b210363ab89cf05f3894778450"
    assert set(uses) <= vetted | {publisher}
    assert not any("password" in s.get("with", {}) for job in jobs.values() for s in job["steps"])


def test_the_build_job_builds_and_checks_both_distributions(
    tmp_path: Path, working_tree: Snapshot
) -> None:
    clone = tmp_path / "pipelinegen"
    git(tmp_path, "clone", "--quiet", str(working_tree.repository), str(clone))
    venv.create(tmp_path / "python", with_pip=True)  # what setup-python leaves on PATH
    runner = {"PATH": f"{tmp_path / 'python' / 'bin'}:/usr/bin:/bin"}
    expressions = {"github.ref_name": f"v{__version__}"}
    for step in shell_steps(_workflow()["jobs"]["build"]["steps"]):
        done = run_step(step, cwd=clone, env=runner, expressions=expressions)
        assert done.returncode == 0, f"{step['name']}:\n{done.stdout}"
    built = sorted(path.name for path in (clone / "dist").iterdir())
    assert built == [
        f"pipelinegen-{__version__}-py3-none-any.whl",
        f"pipelinegen-{__version__}.tar.gz",
    ]

    [check] = [
        s for s in shell_steps(_workflow()["jobs"]["build"]["steps"]) if "TAG" in s.get("env", {})
    ]
    wrong = run_step(check, cwd=clone, env=runner, expressions={"github.ref_name": "v9.9.9"})
    assert wrong.returncode == 1 and "disagree" in wrong.stdout

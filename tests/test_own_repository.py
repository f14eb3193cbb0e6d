"""docs/getting-started.md's first steps, walked end to end in a fresh repository.

pipelinegen is installed the pinned way (the composite action's install step: dependencies by
hash, pipelinegen from this working tree's commit), the spec is written by `init` and compiled,
then the pre-commit hooks (`pre-commit try-repo` against this repository's commit) and the
action's own checks pass, and both catch a spec changed without compiling.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen.render.templating import yaml_scalar
from pipelinegen.spec import placeholders
from tests.conftest import ROOT
from tests.snapshot import Snapshot, git
from tests.steps import run_step, shell_steps

LAYOUT = {
    "services/web/Dockerfile": "FROM scratch\n",
    "deploy/chart/Chart.yaml": "apiVersion: v2\nname: platform\nversion: 1.0.0\n",
    "deploy/chart/values.yaml": "{}\n",
    "deploy/values/staging.yaml": "{}\n",
    "deploy/values/prod.yaml": "{}\n",
}


@pytest.fixture(scope="module")
def action() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = YAML(typ="safe").load(ROOT / "action.yml")["runs"]["steps"]
    return steps


@pytest.fixture(scope="module")
def source(working_tree: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action's checkout at the pinned commit (what `github.action_path` holds)."""
    target = tmp_path_factory.mktemp("action") / "pipelinegen"
    git(target.parent, "clone", "--quiet", str(working_tree.repository), str(target))
    git(target, "checkout", "--quiet", working_tree.commit)
    return target


def _repository(tmp: Path) -> Path:
    root = tmp / "platform"
    for name, text in LAYOUT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(tmp, "init", "--quiet", "--initial-branch=main", str(root))
    git(root, "remote", "add", "origin", "https://github.com/acme/platform.git")
    return root


def _commit(root: Path, message: str) -> None:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", message)


def test_in_your_own_repository(
    tmp_path: Path, working_tree: Snapshot, source: Path, action: list[dict[str, Any]]
) -> None:
    root = _repository(tmp_path)
    venv.create(tmp_path / "python", with_pip=True)  # what setup-python leaves on PATH
    runner = {
        "PATH": f"{tmp_path / 'python' / 'bin'}:/usr/bin:/bin",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
    }
    install, validate, check = shell_steps(action)
    expressions = {"github.action_path": str(source), "inputs.spec": ""}
    done = run_step(install, cwd=root, env=runner, expressions=expressions)
    assert done.returncode == 0, done.stdout

    def pipelinegen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(tmp_path / "python" / "bin" / "pipelinegen"), *args],
            cwd=root,
            env={**os.environ, **runner},
            capture_output=True,
            text=True,
            check=False,
        )

    assert pipelinegen("init").returncode == 0
    refused = pipelinegen("validate")
    assert refused.returncode == 1 and "replace the placeholder '000000000000'" in refused.stderr
    spec = root / "pipeline.yaml"
    text = spec.read_text().replace('"000000000000"', '"123456789012"')
    text = text.replace("your-staging-cluster", "acme-staging").replace(
        "your-prod-cluster", "acme-prod"
    )
    spec.write_text(text.replace(yaml_scalar(placeholders.TEST_COMMAND), "make test"))
    assert pipelinegen("validate").returncode == 0
    assert pipelinegen("compile").returncode == 0
    _commit(root, "pipelinegen")

    def hooks() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "pre-commit"),
                "try-repo",
                str(working_tree.repository),
                "--ref",
                working_tree.commit,
                "--all-files",
            ],
            cwd=root,
            env={**os.environ, **runner},
            capture_output=True,
            text=True,
            check=False,
        )

    tried = hooks()
    assert tried.returncode == 0, tried.stdout + tried.stderr
    assert "pipelinegen validate" in tried.stdout and "pipelinegen compile --check" in tried.stdout
    for step in (validate, check):
        ran = run_step(step, cwd=root, env=runner, expressions=expressions)
        assert ran.returncode == 0, ran.stdout

    # A spec changed without compiling: the hook and the action both say so.
    spec.write_text(spec.read_text().replace("run: make test", "run: make check"))
    _commit(root, "a new test command, not compiled")
    stale = hooks()
    assert stale.returncode == 1
    assert "the generated files are not current: run 'pipelinegen compile'" in stale.stdout
    ran = run_step(check, cwd=root, env=runner, expressions=expressions)
    assert ran.returncode == 1 and "not current" in ran.stdout


def test_the_action_is_pinned_from_the_vetted_table_and_audits_clean(
    action: list[dict[str, Any]],
) -> None:
    from pipelinegen.render.github.actions import action as vetted

    uses = [step["uses"] for step in action if "uses" in step]
    assert uses == [vetted("actions/setup-python").uses()]
    tools = ROOT / ".venv-tools" / "bin"
    commands: list[list[Path | str]] = [
        [tools / "zizmor", "--offline", "--persona=auditor", "--format=plain", "action.yml"],
        [tools / "check-jsonschema", "--builtin-schema", "vendor.github-actions", "action.yml"],
    ]
    for command in commands:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

"""The generated jobs install exactly the pipelinegen that compiled the files, pinned.

The git way is run for real: the stale-check job's shell steps, from the generated workflow,
install this working tree's commit from a local repository (git rewrites the spec's https URL to
it) and every dependency from the package index by hash, then check the files are current.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from ruamel.yaml import YAML

from pipelinegen import __version__, naming
from tests.conftest import ROOT
from tests.snapshot import Snapshot
from tests.steps import run_step, shell_steps

UPSTREAM = "https://github.com/acme/pipelinegen.git"
LOCKS = ROOT / "templates" / "install"


def _pins(path: Path) -> dict[str, str]:
    """name → version of a requirements file written by pip-compile."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", path.read_text(encoding="utf-8"), re.M)
    return {canonicalize_name(name): version for name, version in found}


def _blocks(text: str) -> list[str]:
    """A requirements file's entries, each with its continuation lines (the hashes)."""
    return re.split(r"\n(?=\S)", text)


def _closure(name: str) -> set[str]:
    """The installed distributions `name` needs at run time (its extras aside)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for text in metadata.requires(todo.pop()) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            dependency = canonicalize_name(requirement.name)
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def test_the_lock_holds_exactly_the_dependencies_at_the_tested_versions() -> None:
    constraints = _pins(ROOT / "constraints.txt")
    runtime = _pins(LOCKS / "requirements.txt")
    assert set(runtime) == _closure("pipelinegen"), "run scripts/refresh-requirements"
    build = _pins(LOCKS / "build-requirements.txt")
    assert "hatchling" in build
    chart = _pins(LOCKS / "chart-requirements.txt")  # the CI chart job's schema check
    assert set(chart) == {"kubernetes-validate"} | _closure("kubernetes-validate")
    for name, version in {**runtime, **build, **chart}.items():
        assert constraints.get(name) == version, f"{name}: run scripts/refresh-requirements"
    publish = ROOT / ".github" / "publish-requirements.txt"
    for path in [*LOCKS.glob("*.txt"), publish]:  # every pin carries hashes
        entries = _blocks(path.read_text(encoding="utf-8"))
        assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)


def _project(tmp: Path, commit: str) -> Path:
    repository = tmp / "repository"
    shutil.copytree(
        ROOT / "examples" / "minimal",
        repository,
        ignore=shutil.ignore_patterns(".github", ".pipelinegen", "cdk"),
    )
    spec = repository / "pipeline.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8")
        + f'pipelinegen:\n  git: {UPSTREAM}\n  commit: "{commit}"\n',
        encoding="utf-8",
    )
    subprocess.run([sys.executable, "-m", "pipelinegen", "compile", str(spec)], check=True, cwd=tmp)
    return repository


def _job_steps(repository: Path, job: str) -> list[dict[str, object]]:
    workflow = YAML(typ="safe").load((repository / naming.CI_WORKFLOW).read_text("utf-8"))
    steps: list[dict[str, object]] = workflow["jobs"][job]["steps"]
    return steps


@pytest.fixture
def runner(tmp_path_factory: pytest.TempPathFactory, working_tree: Snapshot) -> dict[str, str]:
    """What the job's `uses:` steps would leave on a new runner: a fresh Python first on PATH
    (setup-python), and git sending the spec's repository URL to the local snapshot."""
    home = tmp_path_factory.mktemp("runner")
    venv.create(home / "python", with_pip=True)
    gitconfig = home / "gitconfig"
    gitconfig.write_text(
        f'[url "file://{working_tree.repository}"]\n\tinsteadOf = {UPSTREAM}\n', "utf-8"
    )
    return {
        "PATH": f"{home / 'python' / 'bin'}:/usr/bin:/bin",
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "VIRTUAL_ENV": str(home / "python"),
    }


def test_the_stale_check_installs_the_commit_from_git_and_passes(
    tmp_path: Path, working_tree: Snapshot, runner: dict[str, str]
) -> None:
    repository = _project(tmp_path, working_tree.commit)
    install, check = shell_steps(_job_steps(repository, naming.STALE_CHECK_JOB))
    assert install["env"]["PIPELINEGEN"] == f"pipelinegen @ git+{UPSTREAM}@{working_tree.commit}"

    installed = run_step(install, cwd=repository, env=runner)
    assert installed.returncode == 0, installed.stdout
    [record] = (Path(runner["VIRTUAL_ENV"]) / "lib").glob("*/site-packages/pipelinegen-*.dist-info")
    origin = json.loads((record / "direct_url.json").read_text("utf-8"))
    assert origin["vcs_info"]["commit_id"] == working_tree.commit

    checked = run_step(check, cwd=repository, env=runner)
    assert checked.returncode == 0, checked.stdout
    assert "generated files are current" in checked.stdout


def test_a_tampered_hash_stops_the_install(tmp_path: Path, runner: dict[str, str]) -> None:
    repository = _project(tmp_path, "0" * 40)
    requirements = repository / naming.INSTALL_REQUIREMENTS
    blocks = _blocks(requirements.read_text("utf-8"))
    [click] = [i for i, block in enumerate(blocks) if block.startswith("click==")]
    blocks[click] = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, blocks[click])
    requirements.write_text("\n".join(blocks), "utf-8")
    [install, _] = shell_steps(_job_steps(repository, naming.STALE_CHECK_JOB))
    done = run_step(install, cwd=repository, env=runner)
    assert done.returncode != 0
    assert "DO NOT MATCH THE HASHES" in done.stdout


def test_the_chart_job_installs_kubernetes_validate_by_hash(
    tmp_path: Path, runner: dict[str, str]
) -> None:
    """The chart job's install step, on a fresh Python: every wheel by hash, nothing missing."""
    repository = _project(tmp_path, "0" * 40)
    [install, *_] = shell_steps(_job_steps(repository, naming.CHART_JOB))
    assert install["env"]["REQUIREMENTS"] == naming.CHART_REQUIREMENTS
    done = run_step(install, cwd=repository, env=runner)
    assert done.returncode == 0, done.stdout
    python = Path(runner["VIRTUAL_ENV"]) / "bin" / "python"
    imported = subprocess.run(
        [python, "-c", "import kubernetes_validate; print(kubernetes_validate.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == _pins(LOCKS / "chart-requirements.txt")["kubernetes-validate"]


def test_the_index_way_pins_this_version() -> None:
    workflow = ROOT / "examples" / "minimal" / naming.CI_WORKFLOW
    steps = YAML(typ="safe").load(workflow.read_text("utf-8"))["jobs"]["pipelinegen"]["steps"]
    [install, _] = shell_steps(steps)
    assert install["env"]["PIPELINEGEN"] == f"pipelinegen=={__version__}"
    assert "--require-hashes" in install["run"]

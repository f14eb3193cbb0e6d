"""The wheel carries schemas/ and templates/ and works installed, away from the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from pipelinegen.spec import schema
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    [built] = out.glob("pipelinegen-*.whl")
    return built


def test_wheel_contains_schema_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pipelinegen/schemas/pipeline.schema.json" in names
    assert "pipelinegen/templates/init/pipeline.yaml.j2" in names
    assert "pipelinegen/templates/github/ci.yml.j2" in names
    assert "pipelinegen/templates/scripts/package-release.py" in names


def test_installed_wheel_runs_outside_the_repository(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    constraints = ROOT / "constraints.txt"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", str(constraints), str(wheel)],
        check=True,
    )
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(ROOT / "examples" / "full", work / "full")
    cli = [str(env_dir / "bin" / "pipelinegen")]
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, *args], cwd=work, capture_output=True, text=True, env=environment, check=False
        )

    where = subprocess.run(
        [str(python), "-c", "import pipelinegen; print(pipelinegen.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(env_dir))
    assert run("validate", "full/pipeline.yaml").returncode == 0
    checked = run("compile", "--check", "full/pipeline.yaml")  # templates ship: same bytes
    assert checked.returncode == 0, checked.stderr
    assert run("schema").stdout == schema.render()
    assert run("init", "new/pipeline.yaml").returncode == 0
    copied = work / "new" / ".pipelinegen" / "pipeline.schema.json"
    assert copied.read_text() == schema.render()

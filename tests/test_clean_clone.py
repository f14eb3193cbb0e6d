"""Every example validates and compiles from a fresh clone: nothing it needs is ignored by git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.snapshot import Snapshot, git


@pytest.fixture(scope="module")
def clone(working_tree: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("clone") / "pipelinegen"
    git(target.parent, "clone", "--quiet", str(working_tree.repository), str(target))
    return target


@pytest.mark.parametrize("example", [e.name for e in EXAMPLES])
def test_example_validates_and_is_current_in_a_fresh_clone(clone: Path, example: str) -> None:
    """The clone's own pipelinegen (`python -m` runs it from the current folder)."""
    spec = clone / "examples" / example / "pipeline.yaml"
    env = {**os.environ, "PIPELINEGEN_NO_CACHE": "1"}
    for command in (["validate", str(spec)], ["compile", "--check", str(spec)]):
        done = subprocess.run(
            [sys.executable, "-m", "pipelinegen", *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=clone,
            check=False,
        )
        assert done.returncode == 0, done.stderr

"""The examples' generated files are committed, as a user's would be, and kept current here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelinegen import naming
from tests.conftest import EXAMPLES, check_golden
from tests.render.conftest import compile_text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_committed_outputs_are_current(example: Path, regenerate: bool) -> None:
    files = compile_text((example / "pipeline.yaml").read_text(encoding="utf-8"))
    for path, text in files.items():
        if regenerate:
            (example / path).parent.mkdir(parents=True, exist_ok=True)
        check_golden(example / path, text, regenerate=regenerate)
    assert naming.CI_WORKFLOW in files and naming.RELEASE_WORKFLOW in files


@pytest.mark.parametrize("seed", ["0", "4242"])
def test_output_is_byte_identical_across_processes(seed: str) -> None:
    """Another process, another hash seed: still exactly the committed bytes."""
    spec = EXAMPLES[0] / "pipeline.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "pipelinegen", "compile", "--check", str(spec)],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr

"""Hostile YAML is a located error and exit 1, in a process of its own (a crash is exit 139)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CASES = {
    "flow bomb": ("[" * 30_000 + "]" * 30_000, ":1:65: the spec nests more than 64 levels deep"),
    "block bomb": ("- " * 30_000 + "x", ":1:129: the spec nests more than 64 levels deep"),
    "bare tag": ("!!int\n", ":1:1: the tag 'tag:yaml.org,2002:int' needs a value after it"),
    "empty float": ("version: !!float\n", ":1:10: the tag 'tag:yaml.org,2002:float' needs a value"),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_validate_locates_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(text)
    command = [sys.executable, "-m", "pipelinegen", "validate", str(spec)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 1, result.stderr[-500:]
    assert f"{spec}{expected}" in result.stderr
    assert "Traceback" not in result.stderr

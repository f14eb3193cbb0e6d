"""`pipelinegen synth`, and the promise that `compile` never loads aws-cdk-lib."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import cli
from tests.conftest import ROOT

MINIMAL = ROOT / "examples" / "minimal" / "pipeline.yaml"


def test_synth_writes_the_templates_and_not_the_app(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["synth", str(MINIMAL), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").glob("*.template.json"))
    assert names == [
        "hello-handoff.template.json",
        "hello-pipeline.template.json",
        "hello-target-prod.template.json",
    ]
    assert "synthesized 3 stacks" in result.stdout


def test_synth_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: None if name == "aws_cdk" else real(name),
    )
    result = CliRunner().invoke(cli, ["synth", str(MINIMAL), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "aws-cdk-lib is not installed in this Python" in result.stderr
    assert "pip install -r deploy/cdk/requirements.txt" in result.stderr


def test_compile_never_imports_aws_cdk_lib() -> None:
    probe = (
        "import sys\n"
        "from pipelinegen.cli import cli\n"
        f"cli.main(['compile', '--check', {str(MINIMAL)!r}], standalone_mode=False)\n"
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

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


def test_synth_refuses_a_node_the_aws_cdk_calls_end_of_life(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stand-in `node` first on PATH that reports 20.x, as Debian's does: synth says which
    Node.js to install instead of letting jsii print its end-of-life banner."""
    node = tmp_path / "bin" / "node"
    node.parent.mkdir()
    node.write_text("#!/bin/sh\necho v20.20.2\n")
    node.chmod(0o755)
    monkeypatch.setenv("PATH", f"{node.parent}:/usr/bin:/bin")
    result = CliRunner().invoke(cli, ["synth", str(MINIMAL), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "Node.js 20 is end-of-life for the AWS CDK" in result.stderr
    assert "24 (or 22)" in result.stderr
    assert not (tmp_path / "out").exists()

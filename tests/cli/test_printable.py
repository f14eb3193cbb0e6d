"""Nothing pipelinegen prints can drive a terminal: crafted specs, file names, command lines,
committed files and git refs carrying ANSI/OSC escape sequences, C1 controls, DEL and
bidirectional overrides come out escaped, through the command line, in every format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import cli
from pipelinegen.printable import lines, one_line
from tests.conftest import ROOT, init_repo
from tests.snapshot import git

# ESC ] 0 ; title BEL (set the window title), ESC [ 2 J (clear the screen), CSI as one C1
# character, DEL, a right-to-left override, a line separator, a carriage return.
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\u202eevil\u2028\r"
FORMATS = ["text", "json", "github"]


def unsafe(output: str) -> list[str]:
    """The characters in `output` a terminal would act on, or that reorder text."""
    return [
        c
        for c in output
        if (ord(c) < 0x20 and c not in "\n\t")
        or 0x7F <= ord(c) <= 0x9F
        or c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        or c in "\u2028\u2029"
    ]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_crafted_spec_value_is_printed_escaped(tmp_path: Path, output_format: str) -> None:
    spec = tmp_path / "pipeline.yaml"
    text = (ROOT / "examples" / "minimal" / "pipeline.yaml").read_text()
    escaped = json.dumps(HOSTILE)  # a YAML double-quoted string reads JSON escapes
    spec.write_text(text.replace("name: ", f"name: {escaped}\nx-was: ", 1))
    code, output = run("validate", "--format", output_format, str(spec))
    assert code == 1
    assert unsafe(output) == []
    if output_format != "json":  # JSON escapes by itself
        assert "\\x1b]0;owned" in output or "\\u001b]0;owned" in output


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_crafted_file_name_is_printed_escaped(tmp_path: Path, output_format: str) -> None:
    code, output = run("validate", "--format", output_format, str(tmp_path / f"{HOSTILE}.yaml"))
    assert code == 1
    assert unsafe(output) == []


def test_a_crafted_command_line_is_printed_escaped() -> None:
    code, output = run("validate", f"--{HOSTILE}")  # click's own usage error
    assert code == 2
    assert unsafe(output) == []
    assert "owned" in output


def test_a_crafted_key_and_yaml_tag_are_printed_escaped(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    text = (ROOT / "examples" / "minimal" / "pipeline.yaml").read_text()
    spec.write_text(text + f"{json.dumps(HOSTILE)}: 1\nextra: !{'x' * 3}\u202e 1\n")
    code, output = run("validate", str(spec))
    assert code == 1
    assert unsafe(output) == []


def test_crafted_chart_text_is_printed_escaped(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "minimal", root)
    charts = list(root.rglob("Chart.yaml"))
    if not charts:
        pytest.skip("the minimal example has no chart to craft")
    chart = charts[0]
    chart.write_text(chart.read_text() + f"\ndependencies:\n  - name: {json.dumps(HOSTILE)}\n")
    _, output = run("validate", str(root / "pipeline.yaml"))
    assert unsafe(output) == []


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_crafted_git_data_and_files_in_a_diff_are_escaped(
    tmp_path: Path, output_format: str
) -> None:
    """A branch name and committed generated files carrying escapes (a hostile pull request)."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "minimal", root)
    init_repo(root)
    branch = "feature\u202egnp.evil"  # git refuses ASCII controls in ref names, not this
    subprocess.run(["git", "checkout", "-q", "-b", branch], cwd=root, check=True)
    workflow = next((root / ".github" / "workflows").glob("*.yml"))
    workflow.write_text(workflow.read_text() + f"# {HOSTILE}\n")
    git(root, "commit", "-qam", f"edit {HOSTILE}")
    spec = str(root / "pipeline.yaml")
    _, output = run("diff", "--format", output_format, "--base", "main", "--head", branch, spec)
    assert unsafe(output) == [], output
    assert "\\u202e" in output  # shown, not dropped


def test_the_real_console_script_escapes_too(tmp_path: Path) -> None:
    """Through the installed entry point, on real pipes (no CliRunner)."""
    result = subprocess.run(
        [sys.executable, "-m", "pipelinegen", "validate", str(tmp_path / f"{HOSTILE}.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert unsafe(result.stdout + result.stderr) == []


def test_escaping_keeps_text_and_shows_every_hostile_character() -> None:
    assert one_line("plain → text, émoji 🚀") == "plain → text, émoji 🚀"
    assert lines("a\n\tb") == "a\n\tb"
    assert one_line("a\nb") == "a\\u000ab"
    assert unsafe(one_line(HOSTILE)) == [] and unsafe(lines(HOSTILE)) == []
    assert one_line("\U000e0041") == "\\U000e0041"  # a tag character (format, invisible)

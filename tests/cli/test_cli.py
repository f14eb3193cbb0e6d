"""The command line through click's runner: exit codes, formats, and the error handler."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen import __version__
from pipelinegen.cli import cli, validate
from pipelinegen.spec import schema
from tests.conftest import ROOT

FULL = ROOT / "examples" / "full"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The full example with an unquoted account and a misspelt key."""
    shutil.copytree(FULL, tmp_path, dirs_exist_ok=True)
    spec = tmp_path / "pipeline.yaml"
    text = spec.read_text().replace('account: "111111111111"', "account: 111111111111")
    spec.write_text(text.replace("    context: services/api", "    contxt: services/api"))
    return spec


def test_version() -> None:
    assert run("--version") == (0, f"pipelinegen, version {__version__}\n", "")


def test_validate_valid_example() -> None:
    spec = FULL / "pipeline.yaml"
    assert run("validate", str(spec))[:2] == (0, f"{spec}: valid\n")


def test_validate_text_reports_every_problem_located(broken: Path) -> None:
    code, out, err = run("validate", str(broken))
    assert (code, out) == (1, "")
    assert err == (
        f"{broken}:15:12: expected a string, got an integer\n"
        f'  hint: quote it: "111111111111"\n'
        f"{broken}:24:5: unknown key 'contxt'\n"
        f"  hint: did you mean 'context'?\n"
        f"{broken}: 2 problems\n"
    )


def test_validate_json(broken: Path) -> None:
    code, out, _ = run("validate", str(broken), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    assert report["diagnostics"][1] == {
        "file": str(broken),
        "line": 24,
        "column": 5,
        "message": "unknown key 'contxt'",
        "hint": "did you mean 'context'?",
    }


def test_validate_github_annotations(broken: Path) -> None:
    code, out, _ = run("validate", str(broken), "--format", "github")
    assert code == 1
    assert out.splitlines()[1] == (
        f"::error file={broken},line=24,col=5,title=pipelinegen::"
        "unknown key 'contxt'%0Adid you mean 'context'?"
    )


def test_missing_spec_is_a_user_error(tmp_path: Path) -> None:
    code, out, err = run("validate", str(tmp_path / "nope.yaml"))
    assert (code, out) == (1, "")
    hint = "  hint: create one with 'pipelinegen init'\n"
    assert err == f"error: {tmp_path / 'nope.yaml'}: no such file\n{hint}"


def test_usage_error_exits_2() -> None:
    code, _, err = run("validate", "--format", "xml")
    assert code == 2 and "Invalid value for '--format'" in err


def test_internal_error_exits_3_and_says_it_is_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(path: Path, *_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate, "read_spec", explode)
    code, _, err = run("validate", str(FULL / "pipeline.yaml"))
    assert code == 3
    assert "RuntimeError: boom" in err
    assert err.rstrip().endswith("please report it with the output above.")


def test_schema_prints_and_writes(tmp_path: Path) -> None:
    assert run("schema") == (0, schema.render(), "")
    target = tmp_path / "out" / "schema.json"
    assert run("schema", "-o", str(target))[0] == 0
    assert target.read_text() == schema.render()


def test_init_writes_a_spec_and_its_schema(tmp_path: Path) -> None:
    spec = tmp_path / "My Service" / "pipeline.yaml"
    code, out, _ = run("init", str(spec))
    assert code == 0 and "wrote" in out
    text = spec.read_text()
    assert text.startswith("# yaml-language-server: $schema=.pipelinegen/pipeline.schema.json\n")
    assert "name: my-service " in text
    assert (spec.parent / ".pipelinegen" / "pipeline.schema.json").read_text() == schema.render()
    # Valid apart from the files a new repository does not have yet, and the placeholders.
    code, _, err = run("validate", str(spec))
    assert code == 1
    problems = [line for line in err.splitlines()[:-1] if "hint" not in line]
    assert sum("replace the placeholder" in line for line in problems) == 7
    assert all("does not exist" in line or "placeholder" in line for line in problems)


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("mine\n")
    code, _, err = run("init", str(spec))
    assert code == 1 and "already exists" in err and spec.read_text() == "mine\n"
    assert run("init", str(spec), "--force")[0] == 0


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("git@github.com:acme/rocket.git", "acme/rocket"),
        ("https://github.com/Acme-Corp/Rocket.Launcher", "Acme-Corp/Rocket.Launcher"),
    ],
)
def test_init_reads_the_github_remote_and_warns_about_its_casing(
    tmp_path: Path, url: str, repository: str
) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", url], check=True)
    code, _, err = run("init", str(tmp_path / "pipeline.yaml"))
    assert code == 0
    assert f"repository: {repository} " in (tmp_path / "pipeline.yaml").read_text()
    assert err == (
        f"warning: github.repository is '{repository}', as the 'origin' remote spells it; the "
        "release trust compares it case-sensitively with the name as GitHub shows it "
        "(gh repo view --json nameWithOwner), so correct the casing if it differs\n"
    )


def test_init_asks_git_for_the_remote_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remote names the spec's repository and the casing warning: one `git config` call."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:acme/rocket"],
        check=True,
    )
    calls: list[list[str]] = []
    real = subprocess.run

    def recording(argv: list[str], **kwargs: object) -> object:
        calls.append(list(argv))
        return real(argv, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", recording)
    code, _, err = run("init", str(tmp_path / "pipeline.yaml"))
    assert code == 0 and "'acme/rocket'" in err
    assert "repository: acme/rocket " in (tmp_path / "pipeline.yaml").read_text()
    assert [argv for argv in calls if "remote.origin.url" in argv] == [
        ["git", "-C", str(tmp_path), "config", "--get", "remote.origin.url"]
    ]


def test_init_without_a_remote_does_not_warn(tmp_path: Path) -> None:
    code, _, err = run("init", str(tmp_path / "pipeline.yaml"))
    assert (code, err) == (0, "")

"""A new user's first commands in a repository shaped like a real one."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen import naming
from pipelinegen.cli import cli
from pipelinegen.cli.progress import progress
from pipelinegen.discovery import discover

FILES = {
    "services/web/Dockerfile": "FROM scratch\n",
    "services/api/build/Dockerfile": "FROM scratch\n",
    "db/migrations.Dockerfile": "FROM scratch\n",
    "node_modules/left-pad/Dockerfile": "FROM scratch\n",
    ".devcontainer/Dockerfile": "FROM scratch\n",
    "deploy/chart/Chart.yaml": "apiVersion: v2\nname: platform\nversion: 1.0.0\n",
    "deploy/chart/values.yaml": "{}\n",
    "deploy/chart/charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "deploy/values/staging.yaml": "{}\n",
    "deploy/values/prod.yaml": "{}\n",
}


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "acme_platform"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "services" / "web" / "link").symlink_to("/etc")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    cwd = Path.cwd()
    os.chdir(root)
    yield root
    os.chdir(cwd)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _fill_placeholders(spec: Path) -> None:
    text = spec.read_text().replace("your-org/your-repo", "acme/platform")
    spec.write_text(text.replace('"000000000000"', '"123456789012"'))


def test_discovery_finds_dockerfiles_charts_and_values(repository: Path) -> None:
    found = discover(repository)
    assert found.dockerfiles == [
        "db/migrations.Dockerfile",
        "services/api/build/Dockerfile",
        "services/web/Dockerfile",
    ]
    assert found.charts == ["deploy/chart", "deploy/chart/charts/web"]
    assert found.values == ["deploy/values/prod.yaml", "deploy/values/staging.yaml"]


def test_init_writes_what_it_found_and_validate_asks_for_the_placeholders(
    repository: Path,
) -> None:
    assert run("init")[0] == 0
    text = Path("pipeline.yaml").read_text()
    assert "context: services/api/build " in text and "dockerfile: migrations.Dockerfile " in text
    assert "chart: deploy/chart " in text and "values: [deploy/values/prod.yaml]" in text
    code, _, err = run("validate")
    assert code == 1
    assert (
        err.splitlines()[0] == "pipeline.yaml:10:15: replace the placeholder 'your-org/your-repo'"
    )
    assert "pipeline.yaml:17:12: replace the placeholder '000000000000'" in err
    assert "pipeline.yaml: 2 problems" in err
    _fill_placeholders(Path("pipeline.yaml"))
    assert run("validate")[:2] == (0, "pipeline.yaml: valid\n")


def test_the_spec_is_found_from_a_subfolder(repository: Path) -> None:
    run("init")
    _fill_placeholders(repository / "pipeline.yaml")
    os.chdir(repository / "services" / "web")
    assert run("validate")[:2] == (0, "../../pipeline.yaml: valid\n")
    assert run("compile")[0] == 0
    assert (repository / naming.CI_WORKFLOW).is_file()
    assert "cdk.out/" in (repository / naming.CDK_GITIGNORE).read_text()


def test_no_spec_up_to_the_root_is_one_error_in_every_format(repository: Path) -> None:
    os.chdir(repository / "services")
    code, out, err = run("validate")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: no pipeline.yaml in {repository / 'services'} or any folder")
    code, out, _ = run("validate", "--format", "json")
    document = json.loads(out)
    assert (code, document["valid"]) == (1, False)
    assert document["error"]["hint"] == "create one with 'pipelinegen init'"
    code, out, _ = run("validate", "--format", "github")
    assert code == 1 and out.startswith("::error title=pipelinegen::no pipeline.yaml in ")


def test_annotations_name_the_file_from_the_repository_root(repository: Path) -> None:
    run("init", "ci/pipeline.yaml")
    os.chdir(repository / "services")
    code, out, _ = run("validate", "../ci/pipeline.yaml", "--format", "github")
    assert code == 1
    assert out.startswith("::error file=ci/pipeline.yaml,line=10,col=15,title=pipelinegen::")


def test_the_dockerfile_hint_points_at_the_context(repository: Path) -> None:
    run("init")
    spec = Path("pipeline.yaml")
    _fill_placeholders(spec)
    before, after = spec.read_text().split("context: services/web", 1)
    after = after.replace("dockerfile: Dockerfile", "dockerfile: services/web/Dockerfile", 1)
    spec.write_text(f"{before}context: services/web{after}")
    code, _, err = run("validate")
    assert code == 1
    hint = "the Dockerfile is relative to the context ('services/web'): write 'Dockerfile'"
    assert f"  hint: {hint}" in err


def test_a_spec_in_a_subfolder_of_the_output_root_is_refused(repository: Path) -> None:
    run("init", "ci/pipeline.yaml")
    code, _, err = run("compile", "ci/pipeline.yaml", "--out", ".")
    assert code == 1
    assert err.startswith("error: ci/pipeline.yaml is in a subfolder of the output root .")
    assert not (repository / ".github").exists()


class _Stream(io.StringIO):
    def __init__(self, *, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    stream = _Stream(terminal=terminal)
    monkeypatch.setattr(sys, "stderr", stream)
    progress("synthesizing...")
    assert stream.getvalue() == ("synthesizing...\n" if terminal else "")

"""A new user's first commands in a repository shaped like a real one."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from pipelinegen import naming
from pipelinegen.cli import cli
from pipelinegen.cli.progress import progress
from pipelinegen.discovery import discover
from pipelinegen.render.templating import yaml_scalar
from pipelinegen.spec import placeholders
from tests.conftest import ROOT

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
    """What only the team knows: the repository, the accounts, the clusters, the tests."""
    text = spec.read_text().replace("your-org/your-repo", "acme/platform")
    text = text.replace("your-staging-cluster", "acme-staging")
    text = text.replace("your-prod-cluster", "acme-prod")
    text = text.replace(yaml_scalar(placeholders.TEST_COMMAND), "make test")
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
    assert "replace the placeholder 'your-staging-cluster'" in err
    assert "replace the placeholder 'your-prod-cluster'" in err
    assert "replace the placeholder test command" in err
    assert "pipeline.yaml: 7 problems" in err  # with both environments' accounts
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


@pytest.mark.parametrize("example", ["umbrella", "bitnami", "prefix"])
def test_init_maps_the_images_of_a_chart_of_subcharts_so_that_validate_accepts_them(
    example: str, tmp_path: Path
) -> None:
    """The chart fixtures' own specs removed: init infers each image's values from the chart
    (subcharts by alias, Bitnami's registry/repository/digest) as validate's hint does."""
    root = tmp_path / example
    shutil.copytree(ROOT / "tests" / "chart" / "repos" / example, root)
    (root / "pipeline.yaml").unlink()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    spec = root / "pipeline.yaml"
    assert run("init", str(spec))[0] == 0
    assert "    values: " in spec.read_text()
    _fill_placeholders(spec)
    code, _, err = run("validate", str(spec))
    problems = [line for line in err.splitlines() if not line.startswith("note: ")]
    assert (code, problems) == (0, []), err  # a note: Helm is not on PATH here


def test_init_proposes_the_checks_of_the_toolchains_it_finds(repository: Path) -> None:
    manifests = {
        "web/package.json": '{"scripts": {"test": "vitest run", "build": "vite build"}}',
        "web/pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
        "go.mod": "module example.com/acme\n\ngo 1.24.2\n",
        "tools/Cargo.toml": '[package]\nname = "tool"\nversion = "0.1.0"\n',
        "api/pyproject.toml": '[project]\nname = "api"\n[project.optional-dependencies]\n'
        'test = ["pytest>=8"]\n[tool.ruff]\nline-length = 100\n',
        "deploy/chart/charts/web/package.json": '{"scripts": {"test": "x"}}',  # chart files
    }
    for name, text in manifests.items():
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text(text)
    assert run("init")[0] == 0
    text = Path("pipeline.yaml").read_text()
    checks = YAML(typ="safe").load(text)["checks"]
    assert [check["name"] for check in checks] == [
        "test", "vet", "api-test", "api-lint", "tools-test", "tools-clippy", "web-test",
        "secrets", "image-scan",
    ]  # fmt: skip
    assert checks[0] == {"name": "test", "setup": {"go": "1.24"}, "run": "go test ./..."}
    assert checks[2]["install"] == "cd api\npip install -e '.[test]'"
    assert checks[6]["run"] == "cd web\npnpm test" and checks[6]["setup"] == {"node": "24"}
    assert checks[6]["install"] == "cd web\ncorepack enable\npnpm install --frozen-lockfile"
    assert text.count("# review: proposed for") == 7
    assert placeholders.TEST_COMMAND not in text


def test_init_picks_the_chart_that_uses_the_others(tmp_path: Path) -> None:
    """A shared service chart sorts before the umbrella (charts/ < deploy/): init names the
    umbrella, whose subcharts (an alias each) tell where every image goes."""
    layout = {
        "charts/service/Chart.yaml": "apiVersion: v2\nname: service\nversion: 0.1.0\n",
        "charts/service/values.yaml": "image:\n  repository: nginx\n  pullPolicy: IfNotPresent\n"
        '  tag: ""\n',
        "deploy/umbrella/Chart.yaml": "apiVersion: v2\nname: umbrella\nversion: 0.1.0\n"
        "dependencies:\n  - {name: service, alias: api, version: 0.1.0, "
        "repository: 'file://../../charts/service'}\n",
        "deploy/umbrella/values.yaml": "{}\n",
        "services/api/Dockerfile": "FROM scratch\n",
    }
    root = tmp_path / "shop"
    for name, text in layout.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    spec = root / "pipeline.yaml"
    assert run("init", str(spec))[0] == 0
    data = YAML(typ="safe").load(spec)
    assert data["helm"]["chart"] == "deploy/umbrella"
    assert data["images"][0]["values"] == "api.image"
    _fill_placeholders(spec)
    assert run("validate", str(spec))[:2] == (0, f"{spec}: valid\n")


def test_init_offers_each_third_party_image_block_as_a_declaration(repository: Path) -> None:
    """A vendored subchart with Bitnami-style blocks: `init` shows each as the `values:` item
    that maps it and, commented out, as a `third_party_images` entry; filled in (the digest),
    the entries validate."""
    web = repository / "deploy" / "chart" / "charts" / "cache"
    web.mkdir()
    (web / "Chart.yaml").write_text("apiVersion: v2\nname: cache\nversion: 1.0.0\n")
    (web / "values.yaml").write_text(
        "image: {registry: docker.io, repository: bitnami/redis, tag: '7.4', digest: ''}\n"
        "metrics:\n"
        "  image: {registry: docker.io, repository: bitnami/redis-exporter, tag: '1', digest: ''}\n"
    )
    (web / "templates").mkdir()
    (web / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: cache}\nspec:\n  containers:\n"
        '    - name: redis\n      image: {{ printf "%s/%s@%s" .Values.image.registry '
        ".Values.image.repository .Values.image.digest | quote }}\n"
        '    - name: exporter\n      image: {{ printf "%s/%s@%s" .Values.metrics.image.registry '
        ".Values.metrics.image.repository .Values.metrics.image.digest | quote }}\n"
    )
    assert run("init")[0] == 0
    text = Path("pipeline.yaml").read_text()
    stubs = text[text.index("  # third_party_images:\n") :].splitlines()[1:7]
    assert stubs == [
        "  #   - name: redis",
        '  #     image: "docker.io/bitnami/redis@sha256:<digest>"',
        "  #     values: [ {registry: cache.image.registry, repository: cache.image.repository, "
        "digest: cache.image.digest} ]",
        "  #   - name: redis-exporter",
        '  #     image: "docker.io/bitnami/redis-exporter@sha256:<digest>"',
        "  #     values: [ {registry: cache.metrics.image.registry, repository: "
        "cache.metrics.image.repository, digest: cache.metrics.image.digest} ]",
    ]
    declared = "third_party_images:\n" + "\n".join(line[4:] for line in stubs) + "\n"
    Path("pipeline.yaml").write_text(text + declared.replace("<digest>", "a" * 64))
    _fill_placeholders(Path("pipeline.yaml"))
    assert run("validate")[:2] == (0, "pipeline.yaml: valid\n")

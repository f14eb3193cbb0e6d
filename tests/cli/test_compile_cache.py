"""The compile cache: `compile --check` on a compiled spec skips validating and rendering, and
says exactly what the full way says, whatever changed since (see pipelinegen/cache.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen import cache, naming
from pipelinegen.cli import cli
from pipelinegen.resources import data_dir
from tests.conftest import ROOT

Change = Callable[[Path], None]


def check(repo: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["compile", "--check", str(repo / "pipeline.yaml")])
    return result.exit_code, result.stdout, result.stderr


def current(repo: Path) -> str:
    """What `compile --check` says of a current repository: the record lists every other file."""
    files = json.loads((repo / naming.RECORD).read_text())["files"]
    return f"{len(files) + 1} generated files are current"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A compiled copy of examples/full, with a cache of its own that the compile filled."""
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "full", repo, ignore=shutil.ignore_patterns("cdk.out"))
    result = CliRunner().invoke(cli, ["compile", str(repo / "pipeline.yaml")])
    assert result.exit_code == 0, result.output
    assert len(_entries(repo)) == 1
    return repo


def _edit(path: str, content: str | bytes) -> Change:
    def change(repo: Path) -> None:
        if isinstance(content, bytes):
            (repo / path).write_bytes(content)
        else:
            (repo / path).write_text(content)

    return change


def _remove(path: str) -> Change:
    return lambda repo: (repo / path).unlink()


def _entries(repo: Path) -> list[Path]:
    return list((repo.parent / "cache" / "compile").glob("*.json"))


def _damage_entries(repo: Path) -> None:
    for entry in _entries(repo):
        stored = json.loads(entry.read_text())
        stored["answers"] = [["kind"]]
        entry.write_text(json.dumps(stored))


def _garble_entries(repo: Path) -> None:
    for entry in _entries(repo):
        entry.write_text("{not json")


def _edit_spec(old: str, new: str) -> Change:
    def change(repo: Path) -> None:
        spec = repo / "pipeline.yaml"
        spec.write_text(spec.read_text().replace(old, new))

    return change


def _chart_made_a_file(repo: Path) -> None:
    shutil.rmtree(repo / "deploy/helm/platform")
    (repo / "deploy/helm/platform").write_text("")


def _obsolete_file(repo: Path) -> None:
    (repo / ".github" / "workflows" / "pipelinegen-old.yml").write_text("old\n")
    record = json.loads((repo / naming.RECORD).read_text())
    record["files"][".github/workflows/pipelinegen-old.yml"] = "0" * 64
    (repo / naming.RECORD).write_text(json.dumps(record))


CHANGES: dict[str, Change] = {
    "nothing": lambda repo: None,
    "a generated file edited": _edit(naming.CI_WORKFLOW, "name: mine\n"),
    "a generated file removed": _remove(naming.RELEASE_PLAN),
    "the record edited": _obsolete_file,
    "the spec edited": _edit_spec("acme-prod", "acme-production"),
    "the spec made invalid": _edit_spec("region: us-west-2", "region: moon-1"),
    "a Dockerfile removed": _remove("web/docker/Dockerfile"),
    "the chart unmade": _remove("deploy/helm/platform/Chart.yaml"),
    "the chart folder made a file": _chart_made_a_file,
    "the usage instructions grown too long": _edit("docs/marketplace-usage.md", "x" * 100_000),
    "the usage instructions not UTF-8": _edit("docs/marketplace-usage.md", b"\xff\xfe"),
    "the cache entry damaged": _damage_entries,
    "the cache entry garbage": _garble_entries,
}
KEEP_CURRENT = (CHANGES["nothing"], _damage_entries, _garble_entries)


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_check_with_the_cache_says_what_the_full_way_says(
    repo: Path, change: Change, monkeypatch: pytest.MonkeyPatch
) -> None:
    change(repo)
    cached = check(repo)
    monkeypatch.setenv("PIPELINEGEN_NO_CACHE", "1")
    assert cached == check(repo)
    assert cached[0] == (0 if change in KEEP_CURRENT else 1)


def test_a_cached_check_loads_no_models_and_no_templates(repo: Path) -> None:
    probe = (
        "import sys\n"
        "from pipelinegen.cli import cli\n"
        "cli.main(['compile', '--check', sys.argv[1]], standalone_mode=False)\n"
        "print(sorted(m for m in ('pydantic', 'jinja2', 'ruamel.yaml') if m in sys.modules))\n"
    )
    argv = [sys.executable, "-c", probe, str(repo / "pipeline.yaml")]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-2:] == [current(repo), "[]"]


def test_off_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINEGEN_NO_CACHE", "1")
    assert cache.entry(tmp_path / "pipeline.yaml", tmp_path, "pipeline.yaml", "") is None


def test_a_cache_that_cannot_be_written_changes_nothing(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be\n")
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(blocked / "cache"))
    assert check(repo) == (0, current(repo) + "\n", "")
    assert check(repo) == (0, current(repo) + "\n", "")


def test_the_key_covers_pipelinegen_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed template (or module, or schema) is another generator: no entry matches."""
    for name in ("templates", "schemas"):
        shutil.copytree(data_dir(name), tmp_path / name)
    monkeypatch.setattr(cache, "data_dir", lambda name: tmp_path / name)
    before = cache.generator.__wrapped__()
    assert cache.generator.__wrapped__() == before
    template = tmp_path / "templates" / "github" / "ci.yml.j2"
    template.write_text(template.read_text() + "\n")
    assert cache.generator.__wrapped__() != before


def test_the_key_covers_the_spec_and_its_name(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    key = cache.entry(spec, tmp_path, "pipeline.yaml", "a").key  # type: ignore[union-attr]
    assert cache.entry(spec, tmp_path, "pipeline.yaml", "b").key != key  # type: ignore[union-attr]
    assert cache.entry(spec, tmp_path, "ci/pipeline.yaml", "a").key != key  # type: ignore[union-attr]

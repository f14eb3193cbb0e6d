"""Shared fixtures, and the one flag that rewrites golden files: `pytest --regenerate`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.snapshot import Snapshot, git, snapshot

if TYPE_CHECKING:
    from pipelinegen.spec.models import Spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/pipeline.yaml"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regenerate",
        action="store_true",
        help="rewrite golden files (schema, spec reference, catalogue expectations) from the code",
    )


NODE = ROOT / "tests" / "node" / "node_modules" / ".bin"  # the pinned Node.js LTS (tests/node)


@pytest.fixture(autouse=True, scope="session")
def node_lts() -> Iterator[Path]:
    """The pinned Node.js LTS first on PATH for the whole session and the commands tests start
    (the AWS CDK's jsii, the CDK CLI, the language server, Mermaid): never the machine's own,
    which may be one jsii calls end-of-life. scripts/test installs it."""
    if not (NODE / "node").exists():
        pytest.fail("tests/node is not installed: run ./scripts/test, which installs it")
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(NODE), saved])
    yield NODE
    os.environ["PATH"] = saved


@pytest.fixture(autouse=True, scope="session")
def installed_from_the_index() -> Iterator[None]:
    """The tests run pipelinegen from this checkout (an editable install), which `compile` warns
    CI cannot install; in process they run as a pipelinegen installed from the package index
    would. tests/test_provenance.py puts the real origin back to test the warning itself."""
    from pipelinegen import provenance

    real = provenance.origin
    provenance.origin = lambda *_: provenance.Origin("index")
    yield
    provenance.origin = real


@pytest.fixture(autouse=True, scope="session")
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The compile cache of this test session (also for the commands tests start): it never
    reads or fills the user's."""
    directory = tmp_path_factory.mktemp("compile-cache")
    saved = {
        k: os.environ.pop(k)
        for k in ("PIPELINEGEN_CACHE_DIR", "PIPELINEGEN_NO_CACHE")
        if k in os.environ
    }
    os.environ["PIPELINEGEN_CACHE_DIR"] = str(directory)
    yield directory
    del os.environ["PIPELINEGEN_CACHE_DIR"]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def working_tree(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """This repository's working tree, committed into a scratch bare repository."""
    return snapshot(tmp_path_factory.mktemp("snapshot"))


@pytest.fixture
def regenerate(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regenerate"))


def check_golden(path: Path, actual: str, *, regenerate: bool) -> None:
    """Compare `actual` with the committed file, or rewrite it under --regenerate."""
    if regenerate:
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    assert actual == expected, (
        f"{path.relative_to(ROOT)} is out of date; regenerate it with: pytest --regenerate"
    )


def full_spec(*edits: tuple[str, str]) -> Spec:
    """The full example's spec with each `(old, new)` replaced once (old must be there)."""
    from pipelinegen.spec.load import load

    text = (ROOT / "examples" / "full" / "pipeline.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return load(text, file="pipeline.yaml")


def init_repo(root: Path, branch: str = "main") -> None:
    """Make `root` a git repository on `branch` with everything in it committed."""
    git(root, "init", "-q", "-b", branch)
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pipeline")

"""Repositories shaped like a hostile pull request: links, edited records, special files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen import naming
from pipelinegen.cli import cli
from tests.conftest import ROOT


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def fresh(example: str, where: Path) -> Path:
    """`example` copied to `where`, without its generated files, with an empty .git/hooks."""
    shutil.copytree(ROOT / "examples" / example, where, dirs_exist_ok=True)
    for generated in (".github", naming.STATE_DIR, naming.CDK_APP_DIR):
        shutil.rmtree(where / generated)
    (where / ".git" / "hooks").mkdir(parents=True)
    return where


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file below `root` (links as their target's name), for before/after."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[name] = b"-> " + str(path.readlink()).encode()
        elif path.is_file():
            found[name] = path.read_bytes()
    return found


@pytest.fixture
def full(tmp_path: Path) -> Path:
    return fresh("full", tmp_path / "repo")


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return fresh("minimal", tmp_path / "repo")

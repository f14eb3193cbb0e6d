"""The working tree as a fresh clone would see it: committed into a scratch bare repository.

Tracked and untracked files are taken, ignored ones are not (the root .gitignore decides, as in a
real commit), without touching the repository: the index and the new objects are temporary.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = {
    "GIT_AUTHOR_NAME": "pipelinegen tests",
    "GIT_AUTHOR_EMAIL": "tests@pipelinegen.invalid",
    "GIT_COMMITTER_NAME": "pipelinegen tests",
    "GIT_COMMITTER_EMAIL": "tests@pipelinegen.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@dataclass(frozen=True)
class Snapshot:
    repository: Path  # a bare repository whose branch `main` holds the commit
    commit: str


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `cwd` with a fixed identity and no system or global config (the machine's
    settings never leak into a test); its stdout, stripped. Raises CalledProcessError."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def snapshot(into: Path) -> Snapshot:
    """Commit the working tree of this repository into a new bare repository under `into`."""
    objects = git(ROOT, "rev-parse", "--path-format=absolute", "--git-path", "objects")
    scratch = {
        "GIT_INDEX_FILE": str(into / "index"),
        "GIT_OBJECT_DIRECTORY": str(into / "objects"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects,
    }
    (into / "objects").mkdir()
    git(ROOT, "add", "--all", ".", env=scratch)
    tree = git(ROOT, "write-tree", env=scratch)
    commit = git(ROOT, "commit-tree", tree, "-m", "the working tree", env=scratch)
    bare = into / "pipelinegen.git"
    git(into, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(ROOT, "push", "--quiet", str(bare), f"{commit}:refs/heads/main", env=scratch)
    return Snapshot(bare, commit)

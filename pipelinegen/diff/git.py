"""Reading a spec and its repository at a git revision, without checking anything out."""

from __future__ import annotations

import posixpath
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen.errors import UserError
from pipelinegen.spec.repository import Kind


@dataclass(frozen=True)
class Git:
    """The repository that contains `cwd`."""

    root: Path

    @classmethod
    def around(cls, path: Path) -> Git:
        folder = path.parent if not path.is_dir() else path
        result = _git(folder, "rev-parse", "--show-toplevel", check=False)
        if result.returncode != 0:
            raise UserError(f"{path} is not inside a git repository", "diff compares revisions")
        return cls(Path(result.stdout.strip()))

    def resolve(self, rev: str) -> str | None:
        """The commit `rev` names, or None."""
        result = _git(
            self.root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False
        )
        return result.stdout.strip() or None

    def merge_base(self, a: str, b: str) -> str | None:
        result = _git(self.root, "merge-base", a, b, check=False)
        return result.stdout.strip() or None

    def show(self, commit: str, path: str) -> str | None:
        """The file's text at `commit`, or None when it does not exist there."""
        result = _git(self.root, "show", f"{commit}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def tree(self, commit: str, *, under: str = ".") -> GitTree:
        """The revision's files, seen from folder `under` (a spec's paths are relative to its
        folder)."""
        listing = _git(self.root, "ls-tree", "-r", "-z", "--name-only", commit).stdout
        files = frozenset(filter(None, listing.split("\0")))
        return GitTree(self, commit, "" if under == "." else f"{under}/", files)


@dataclass(frozen=True)
class GitTree:
    """A revision as a `spec.repository.Repository`, so path checks run against it."""

    git: Git
    commit: str
    prefix: str
    files: frozenset[str]
    directories: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        parents = {str(Path(path).parent.as_posix()) for path in self.files}
        expanded = {str(p.as_posix()) for d in parents for p in [Path(d), *Path(d).parents]}
        object.__setattr__(self, "directories", frozenset(expanded - {"."}))

    def kind(self, path: str) -> Kind | None:
        full = posixpath.normpath(self.prefix + path)
        if full in self.files:
            return "file"
        return "directory" if full in self.directories or full == "." else None

    def read_text(self, path: str) -> str:
        return self.git.show(self.commit, posixpath.normpath(self.prefix + path)) or ""


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise UserError(f"cannot run git: {error}", "diff needs git on PATH") from None
    if check and result.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result

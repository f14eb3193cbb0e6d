"""Reading a spec and its repository at a git revision, without checking anything out."""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Iterable
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

    def tracked(self, folder: Path) -> list[str]:
        """The files git tracks under `folder`, relative to it."""
        listing = _git(folder, "ls-files", "-z", "--", ".").stdout
        return [path for path in listing.split("\0") if path]

    def shallow(self) -> bool:
        """Whether this is a shallow clone (`git clone --depth`, GitHub's default checkout)."""
        result = _git(self.root, "rev-parse", "--is-shallow-repository", check=False)
        return result.stdout.strip() == "true"

    def has_remote(self, name: str) -> bool:
        return name in _git(self.root, "remote", check=False).stdout.split()

    def fetch(self, *args: str) -> bool:
        """`git fetch --no-tags ARGS`, never prompting for credentials; whether it worked."""
        result = _git(self.root, "fetch", "--quiet", "--no-tags", *args, check=False, network=True)
        return result.returncode == 0

    def read_many(self, commit: str, paths: Iterable[str]) -> dict[str, bytes | None]:
        """Each path's bytes at `commit` (None where there is none), in one `git cat-file`."""
        wanted = list(paths)
        if not wanted:
            return {}
        request = "".join(f"{commit}:{path}\n" for path in wanted).encode()
        try:
            output = subprocess.run(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                input=request,
                capture_output=True,
                check=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError) as error:
            raise UserError(f"cannot read files at {commit[:12]}: {error}") from None
        found: dict[str, bytes | None] = {}
        offset = 0
        for path in wanted:
            end = output.index(b"\n", offset)
            header = output[offset:end].split()
            offset = end + 1
            if len(header) != 3 or header[1] != b"blob":
                found[path] = None
                continue
            size = int(header[2])
            found[path] = output[offset : offset + size]
            offset += size + 1  # the content, then a newline
        return found

    def show(self, commit: str, path: str) -> str | None:
        """The file's text at `commit`, or None when it does not exist there."""
        result = _git(self.root, "show", f"{commit}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def tree(self, commit: str, *, under: str = ".") -> GitTree:
        """The revision's files, seen from folder `under` (a spec's paths are relative to its
        folder)."""
        listing = _git(self.root, "ls-tree", "-r", "-z", commit).stdout
        entries = [entry.split("\t", 1) for entry in listing.split("\0") if "\t" in entry]
        files = frozenset(path for _, path in entries)
        links = frozenset(path for meta, path in entries if meta.startswith("120000 "))
        return GitTree(self, commit, "" if under == "." else f"{under}/", files, links)


@dataclass(frozen=True)
class GitTree:
    """A revision as a `spec.repository.Repository`, so path checks run against it."""

    git: Git
    commit: str
    prefix: str
    files: frozenset[str]
    links: frozenset[str]  # symbolic links (mode 120000): their text is where they point
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

    def entries(self, path: str) -> list[str]:
        full = posixpath.normpath(self.prefix + path)
        below = f"{full}/" if full != "." else ""
        names = {
            item[len(below) :].split("/", 1)[0]
            for item in self.files | self.directories
            if item.startswith(below) and item != full
        }
        return sorted(names)


FETCH_TIMEOUT = 300  # seconds for one `git fetch`


def _git(
    cwd: Path, *args: str, check: bool = True, network: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run git; `network` calls never prompt (GIT_TERMINAL_PROMPT=0) and time out."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0"} if network else None
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="surrogateescape",  # a hostile checkout may name files in any bytes
            check=False,
            env=environment,
            timeout=FETCH_TIMEOUT if network else None,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(["git", *args], 1, "", "timed out")
    except OSError as error:
        raise UserError(f"cannot run git: {error}", "diff needs git on PATH") from None
    if check and result.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result

"""Read access to the repository a spec lives in, for the checks of the paths it names.

The repository is behind a small protocol so the same checks run on a working tree (`validate`,
`compile`) and on a git revision (`diff`), without the spec stage touching the disk itself. This
module imports nothing heavy: the compile cache asks a working tree its questions again without
loading the models.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal, Protocol

# What is at a path: a regular file or a folder (either may be reached through symbolic links
# that stay inside the repository), a link that leads outside it, or a special file (a FIFO, a
# socket, a device) that must not be read.
Kind = Literal["file", "directory", "outside", "special"]


class Repository(Protocol):
    """Read access to the repository, by repository-relative POSIX path."""

    def kind(self, path: str) -> Kind | None:
        """What is at `path` (see Kind), or None when nothing is there."""

    def read_text(self, path: str) -> str:
        """The file's text (UTF-8)."""

    def entries(self, path: str) -> list[str]:
        """The sorted names in a directory ([] when it is not one)."""


@dataclass(frozen=True)
class WorkingTree:
    """A repository checked out at `root`. A path is followed through symbolic links only as
    long as it stays inside the root: a checkout can commit `values.yaml -> /etc/passwd`.

    The root is resolved once. Each path is then walked component by component from the
    resolved root with `os.lstat` (a link is followed by `os.readlink` and resolved like
    `os.path.realpath` does), and the folders already walked are remembered: a spec naming
    thousands of paths under a few folders costs about one `lstat` per path, not a `realpath`
    of root and path each time. A working tree answers for one command; the memory assumes the
    checkout does not change under it."""

    root: Path
    _walked: dict[str, tuple[str, os.stat_result]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @cached_property
    def _top(self) -> Path:
        return self.root.resolve()

    @cached_property
    def _top_text(self) -> str:
        return str(self._top)

    def kind(self, path: str) -> Kind | None:
        try:
            found = self._walk(path)
        except (OSError, RuntimeError, ValueError):  # missing, a link loop, a NUL: nothing there
            return None
        if found is None:
            return "outside"
        mode = found[1].st_mode
        if stat.S_ISREG(mode):
            return "file"
        return "directory" if stat.S_ISDIR(mode) else "special"

    def read_text(self, path: str) -> str:
        """The text of the regular file at `path`; OSError for anything else."""
        resolved = self._resolve(path)
        if resolved is None:
            raise OSError(f"'{path}' leads outside the repository")
        descriptor = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise OSError(f"'{path}' is not a regular file")
            return file.read().decode("utf-8")

    def _resolve(self, path: str) -> Path | None:
        """`path` with every link followed; None when that leaves the root. OSError when
        nothing is there, RuntimeError for a link loop, ValueError for a NUL."""
        found = self._walk(path)
        return None if found is None else Path(found[0])

    def _walk(self, path: str) -> tuple[str, os.stat_result] | None:
        """The real path of `path` and what `stat` says of it, or None outside the root."""
        top = self._top
        if path.startswith("/"):  # absolute: not below the root, unless a link leads back
            resolved = Path(path).resolve(strict=True)
            return (str(resolved), resolved.stat()) if resolved.is_relative_to(top) else None
        # Plain strings: pathlib's parsing, not the syscalls, was most of the cost per path.
        real, status, walked = str(top), None, ""
        for part in path.split("/"):
            if part in ("", "."):
                continue
            walked = f"{walked}/{part}"
            known = self._walked.get(walked)
            if known is not None:
                real, status = known
                continue
            if part == "..":
                real, status = real.rpartition("/")[0] or "/", None
                continue
            real = f"{real.rstrip('/')}/{part}"
            status = os.lstat(real)
            if stat.S_ISLNK(status.st_mode):
                resolved = Path(real).resolve(strict=True)
                real, status = str(resolved), resolved.stat()
            self._walked[walked] = (real, status)
        if status is None:
            status = Path(real).stat()
        inside = real == self._top_text or real.startswith(self._top_text.rstrip("/") + "/")
        return (real, status) if inside else None

    def entries(self, path: str) -> list[str]:
        """The names in the folder at `path`, sorted; none when it leaves the repository."""
        try:
            resolved = self._resolve(path)
            return sorted(child.name for child in resolved.iterdir()) if resolved else []
        except OSError:
            return []

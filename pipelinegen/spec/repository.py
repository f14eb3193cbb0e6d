"""Read access to the repository a spec lives in, for the checks of the paths it names.

The repository is behind a small protocol so the same checks run on a working tree (`validate`,
`compile`) and on a git revision (`diff`), without the spec stage touching the disk itself. This
module imports nothing heavy: the compile cache asks a working tree its questions again without
loading the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Kind = Literal["file", "directory"]


class Repository(Protocol):
    """Read access to the repository, by repository-relative POSIX path."""

    def kind(self, path: str) -> Kind | None:
        """'file', 'directory', or None when nothing is there."""

    def read_text(self, path: str) -> str:
        """The file's text (UTF-8)."""

    def entries(self, path: str) -> list[str]:
        """The sorted names in a directory ([] when it is not one)."""


@dataclass(frozen=True)
class WorkingTree:
    """A repository checked out at `root`."""

    root: Path

    def kind(self, path: str) -> Kind | None:
        target = self.root / path
        try:
            if target.is_file():
                return "file"
            return "directory" if target.is_dir() else None
        except OSError:  # a name too long for the file system, say: nothing can be there
            return None

    def read_text(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def entries(self, path: str) -> list[str]:
        try:
            return sorted(child.name for child in (self.root / path).iterdir())
        except OSError:
            return []

"""Generated files: how they differ between the two sides, and how the files the head revision
has committed differ from what its spec compiles to.

The second matters because what runs is what is committed. A pull request that edits a generated
workflow by hand (say, appends `curl … | sh` to a `run:` line) changes nothing in the spec, so
comparing spec with spec would call it "no change"; comparing the committed files with the compile
of the head spec shows it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from pipelinegen import naming, record

NOT_A_FILE = "\0not a regular file\0"  # a symbolic link, or not UTF-8: never read


@dataclass(frozen=True)
class FileChange:
    path: str
    status: Literal["added", "removed", "modified"]
    diff: str
    added: int
    removed: int


@dataclass(frozen=True)
class Committed:
    """What the head revision holds where compile writes: path → text (None: missing;
    NOT_A_FILE: a symbolic link or undecodable file, not read), and the files in what compile
    owns (its folders, the `pipelinegen-*` workflows) that it does not write."""

    files: dict[str, str | None]
    extra: tuple[str, ...]


@dataclass(frozen=True)
class Drift:
    """The committed files that are not what the head spec compiles to.

    `edited` diffs run from the compiled text to the committed one, so what was added by hand
    shows as `+` lines. `recompile` says the committed record names another spec: the files
    were compiled from another version of it (or the record was edited too).
    """

    edited: tuple[FileChange, ...] = ()
    missing: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    recompile: bool = False

    @property
    def empty(self) -> bool:
        return not (self.edited or self.missing or self.unread or self.extra)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(
            sorted({*(f.path for f in self.edited), *self.missing, *self.unread, *self.extra})
        )


def drift(compiled: dict[str, str], committed: Committed) -> Drift:
    """Compare what the head spec compiles to with what the head revision holds."""
    edited, missing, unread = [], [], []
    for path, text in sorted(compiled.items()):
        found = committed.files.get(path)
        if found is None:
            missing.append(path)
        elif found == NOT_A_FILE:
            unread.append(path)
        elif found != text:
            edited.append(file_change(path, text, found, ("compiled", "committed")))
    ours = record.spec_digest(compiled.get(naming.RECORD))
    theirs = record.spec_digest(committed.files.get(naming.RECORD))
    return Drift(tuple(edited), tuple(missing), tuple(unread), committed.extra, ours != theirs)


def file_changes(before: dict[str, str], after: dict[str, str]) -> list[FileChange]:
    """Per generated file, a unified diff. The record of generated files is bookkeeping and
    changes with every spec edit, so it is left out."""
    changes = []
    for path in sorted((before.keys() | after.keys()) - {naming.RECORD}):
        old, new = before.get(path), after.get(path)
        if old != new:
            changes.append(file_change(path, old, new, ("a", "b")))
    return changes


def file_change(path: str, old: str | None, new: str | None, sides: tuple[str, str]) -> FileChange:
    lines = list(
        difflib.unified_diff(
            (old or "").splitlines(),
            (new or "").splitlines(),
            f"{sides[0]}/{path}",
            f"{sides[1]}/{path}",
            lineterm="",
        )
    )
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    status: Literal["added", "removed", "modified"] = (
        "added" if old is None else "removed" if new is None else "modified"
    )
    return FileChange(path, status, "\n".join(lines), added, removed)

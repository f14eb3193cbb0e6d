"""Both sides of a diff, compiled in memory, and what differs between them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from pipelinegen import naming
from pipelinegen.diff.summary import Change, summarize
from pipelinegen.errors import Diagnostic, SpecError
from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import Repository


@dataclass(frozen=True)
class Side:
    """One side: the spec (None when missing or invalid) and what it compiles to."""

    label: str
    present: bool
    spec: Spec | None
    files: dict[str, str]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class FileChange:
    path: str
    status: Literal["added", "removed", "modified"]
    diff: str
    added: int
    removed: int


@dataclass(frozen=True)
class Comparison:
    base: Side
    head: Side
    changes: tuple[Change, ...]
    files: tuple[FileChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.files)


def load_side(
    label: str, text: str | None, *, spec_path: str, file: str, repository: Repository | None
) -> Side:
    """Validate and compile one side; a missing spec is an empty side, an invalid one keeps its
    diagnostics (and compiles to nothing)."""
    if text is None:
        return Side(label, False, None, {}, ())
    try:
        spec = load(text, file=file, repository=repository)
    except SpecError as error:
        return Side(label, True, None, {}, tuple(error.diagnostics))
    return Side(label, True, spec, render(spec, Source(spec_path, text)), ())


def compare(base: Side, head: Side) -> Comparison:
    """An invalid side has no meaning to compare: its diagnostics are the report. A missing
    side (a new adoption, or a removed spec) compares as empty, so everything is added."""
    valid = all(side.spec is not None or not side.present for side in (base, head))
    changes = summarize(base.spec, head.spec) if valid else []
    return Comparison(base, head, tuple(changes), tuple(_file_changes(base.files, head.files)))


def _file_changes(before: dict[str, str], after: dict[str, str]) -> list[FileChange]:
    """Per generated file, a unified diff. The record of generated files is bookkeeping and
    changes with every spec edit, so it is left out."""
    changes = []
    for path in sorted((before.keys() | after.keys()) - {naming.RECORD}):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        lines = list(
            difflib.unified_diff(
                (old or "").splitlines(),
                (new or "").splitlines(),
                f"a/{path}",
                f"b/{path}",
                lineterm="",
            )
        )
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        status: Literal["added", "removed", "modified"] = (
            "added" if old is None else "removed" if new is None else "modified"
        )
        changes.append(FileChange(path, status, "\n".join(lines), added, removed))
    return changes

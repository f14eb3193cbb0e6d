"""Writing generated files into a repository: atomically, and only files pipelinegen owns.

The record of the last compile (naming.RECORD) says which files pipelinegen wrote and what they
held. A compile then deletes files it no longer generates (unless someone edited them), and
refuses to overwrite a file it did not write. Every check happens before the first write, and
all files are staged next to their targets before any is renamed into place, so a failed
compile leaves the repository as it was.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen import naming, record
from pipelinegen.errors import UserError

DIFF_LINES = 40


@dataclass
class Changes:
    """What a compile would do to the repository."""

    write: dict[str, str] = field(default_factory=dict)  # new or changed files
    delete: list[str] = field(default_factory=list)  # generated before, not any more
    unchanged: list[str] = field(default_factory=list)


def plan(root: Path, files: dict[str, str]) -> Changes:
    """Compare `files` with the repository at `root`; UserError on a file we must not touch."""
    owned = _recorded(root)
    changes = Changes()
    conflicts = []
    for path, text in files.items():
        current = _read(root / path)
        if current == text:
            changes.unchanged.append(path)
        elif current is not None and path not in owned and path != naming.RECORD:
            conflicts.append(path)  # (the record lists every file but itself)
        else:
            changes.write[path] = text
    for path in sorted(set(owned) - set(files)):
        current = _read(root / path)
        if current is not None and record.digest(current) != owned[path]:
            conflicts.append(path)
        elif current is not None:
            changes.delete.append(path)
    if conflicts:
        raise UserError(
            "pipelinegen would overwrite or delete files it did not write: " + ", ".join(conflicts),
            "move them away (or restore what pipelinegen generated), then compile again",
        )
    return changes


def apply(root: Path, changes: Changes) -> None:
    """Stage every file beside its target, then rename them all into place, then delete."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in changes.write.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.pipelinegen-tmp")
            temporary.write_text(text, encoding="utf-8", newline="\n")
            if text.startswith("#!"):
                temporary.chmod(0o755)
            staged.append((temporary, target))
    except OSError:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, target in staged:
        temporary.replace(target)
    for path in changes.delete:
        (root / path).unlink(missing_ok=True)


def stale(root: Path, files: dict[str, str]) -> list[str]:
    """For --check: a report line (and a short diff) per file that is missing, out of date, or
    no longer generated. Empty when the repository is current."""
    report = []
    for path, text in files.items():
        current = _read(root / path)
        if current is None:
            report.append(f"missing: {path}")
        elif current != text:
            report.append(f"out of date: {path}")
            report.extend(_diff(path, current, text))
    for path in sorted(set(_recorded(root)) - set(files)):
        if (root / path).exists():
            report.append(f"no longer generated: {path}")
    return report


def _recorded(root: Path) -> dict[str, str]:
    """path → digest from the last compile's record ({} if there is none, or it is unreadable)."""
    return record.listed(_read(root / naming.RECORD))


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None


def _diff(path: str, current: str, text: str) -> list[str]:
    lines = list(
        difflib.unified_diff(
            current.splitlines(),
            text.splitlines(),
            f"{path} (on disk)",
            f"{path} (generated)",
            lineterm="",
        )
    )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more diff lines"]
    return [f"    {line}" for line in lines]

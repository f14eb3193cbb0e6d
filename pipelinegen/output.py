"""Writing generated files into a repository: the one place that does, atomically, and only
files pipelinegen owns.

The record of the last compile (naming.RECORD) says which files pipelinegen wrote and what they
held. A compile then deletes files it no longer generates (unless someone edited them), and
refuses to overwrite a file it did not write. Every check happens before the first write.

Nothing is written through a symbolic link (see pipelinegen.folders): new contents are staged in
a fresh folder with an unpredictable name under naming.STATE_DIR, each file created exclusively,
and then renamed into place; a link at a target or at any folder below the root is refused.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipelinegen import naming, record
from pipelinegen.errors import UserError
from pipelinegen.folders import NotRegular, Root, create, io_error

DIFF_LINES = 40
STAGING_PREFIX = ".staging-"  # + random hex: a folder under naming.STATE_DIR, during a compile


@dataclass
class Changes:
    """What a compile would do to the repository."""

    write: dict[str, str] = field(default_factory=dict)  # new or changed files
    delete: list[str] = field(default_factory=list)  # generated before, not any more
    unchanged: list[str] = field(default_factory=list)


def plan(root: Path, files: dict[str, str], *, force: bool = False) -> Changes:
    """Compare `files` with the repository at `root`. UserError on a file pipelinegen must not
    touch: one it did not write, or one it wrote that was edited since (unless `force`)."""
    changes = Changes()
    conflicts = []
    with Root(root) as tree:
        owned = _recorded(tree)
        for path, text in files.items():
            current = _current(tree, path)
            if current == text.encode("utf-8"):
                changes.unchanged.append(path)
                continue
            if current is not None and not _owned(path, current, owned):
                conflicts.append(path)
            changes.write[path] = text
        for path in sorted(set(owned) - set(files)):
            current = _current(tree, path)
            if current is not None and not _owned(path, current, owned):
                conflicts.append(path)
            if current is not None:
                changes.delete.append(path)
    if conflicts and not force:
        raise UserError(
            "pipelinegen would overwrite or delete files it did not write (or that were edited "
            "since): " + ", ".join(sorted(conflicts)),
            "move them away (or restore what pipelinegen generated) and compile again; "
            "--force overwrites them",
        )
    return changes


def _owned(path: str, current: bytes, owned: dict[str, str]) -> bool:
    """Whether the file at `path` is as pipelinegen last wrote it (the record is rewritten
    by every compile, and lists every file but itself)."""
    return path == naming.RECORD or owned.get(path) == record.digest(current)


def apply(root: Path, changes: Changes) -> None:
    """Stage every new file in a fresh folder, then rename them all into place, then delete."""
    with Root(root) as tree:
        state = _folder(tree, naming.STATE_DIR, create=True)
        staging = f"{STAGING_PREFIX}{secrets.token_hex(16)}"
        try:
            os.mkdir(staging, 0o700, dir_fd=state)
        except OSError as error:
            raise io_error(f"{naming.STATE_DIR}/{staging}", error) from None
        staged = _folder(tree, f"{naming.STATE_DIR}/{staging}")
        written = sorted(changes.write.items())
        try:
            for number, (path, text) in enumerate(written):
                mode = 0o755 if text.startswith("#!") else 0o644
                _attempt(path, create, staged, str(number), text.encode("utf-8"), mode)
            for number, (path, _) in enumerate(written):
                parent = _folder(tree, _parent(path), create=True)
                _attempt(
                    path, os.rename, str(number), _name(path), src_dir_fd=staged, dst_dir_fd=parent
                )
        finally:
            _remove(state, staging)
        for path in changes.delete:
            folder = tree.folder(_parent(path))
            if folder is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(_name(path), dir_fd=folder)


def stale(root: Path, files: dict[str, str]) -> list[str]:
    """For --check: a report line (and a short diff) per file that is missing, out of date, or
    no longer generated. Empty when the repository is current."""
    report = []
    with Root(root) as tree:
        for path, text in files.items():
            try:
                current = tree.read(path)
            except NotRegular as error:
                report.append(f"out of date: {path} ({error.what})")
                continue
            if current is None:
                report.append(f"missing: {path}")
            elif current != text.encode("utf-8"):
                report.append(f"out of date: {path}")
                report.extend(_diff(path, current, text))
        for path in sorted(set(_recorded(tree)) - set(files)):
            if tree.exists(path):
                report.append(f"no longer generated: {path}")
    return report


def _recorded(tree: Root) -> dict[str, str]:
    """path → digest from the last compile's record ({} if there is none, or it is unreadable)."""
    text = tree.read(naming.RECORD)
    return record.listed(text.decode("utf-8", errors="replace") if text is not None else None)


def _current(tree: Root, path: str) -> bytes | None:
    """The file at `path`; a link or special file there reads as something pipelinegen did not
    write (b''), which the record never lists with a matching digest."""
    try:
        return tree.read(path)
    except NotRegular:
        return b""


def _folder(tree: Root, path: str, *, create: bool = False) -> int:
    folder = tree.folder(path, create=create)
    if folder is None:
        raise UserError(f"{path} disappeared during the compile")
    return folder


def _attempt(path: str, action: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Run `action`; an OSError becomes a UserError naming `path` and the reason."""
    try:
        action(*args, **kwargs)
    except OSError as error:
        raise io_error(path, error) from None


def _remove(state: int, staging: str) -> None:
    """Remove the staging folder and whatever is left in it (never following a link)."""
    with contextlib.suppress(OSError):
        shutil.rmtree(staging, dir_fd=state)


def _parent(path: str) -> str:
    parent = PurePosixPath(path).parent.as_posix()
    return "" if parent == "." else parent


def _name(path: str) -> str:
    return PurePosixPath(path).name


def _diff(path: str, current: bytes, text: str) -> list[str]:
    """A unified diff, with carriage returns shown as `\\r` (they are differences too)."""
    before = current.decode("utf-8", errors="replace").replace("\r", "\\r")
    lines = list(
        difflib.unified_diff(
            before.split("\n"),
            text.replace("\r", "\\r").split("\n"),
            f"{path} (on disk)",
            f"{path} (generated)",
            lineterm="",
        )
    )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more diff lines"]
    return [f"    {line}" for line in lines]


def exists(root: Path, path: str) -> bool:
    """Whether anything, a link included, is at `path` below `root` (a missing root: no)."""
    if not root.is_dir():
        return False
    with Root(root) as tree:
        return tree.exists(path)

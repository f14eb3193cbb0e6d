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
import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipelinegen import naming, private, record
from pipelinegen.errors import UserError
from pipelinegen.folders import NotRegular, Root, create, io_error, listing

DIFF_LINES = 40
STAGING_PREFIX = ".staging-"  # + random hex: a folder under naming.STATE_DIR, during a compile
JOURNAL = "journal.json"  # in the staging folder: written last, it decides the change
LOCK_TIMEOUT = 120.0  # seconds to wait for another compile into the same root


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
    """Make `changes`, all or nothing: stage every new file in a fresh folder with a journal of
    what goes where, then move them into place and delete, then remove the folder.

    Until the journal is in place nothing in the repository has changed, and a failure or kill
    leaves only the staging folder, which the next compile removes (see `recover`); once it is,
    the change is decided, and a compile killed half-way is finished by the next one. UserError
    (path and reason) on any I/O error."""
    with Root(root) as tree:
        state = _folder(tree, naming.STATE_DIR, create=True)
        staging = f"{STAGING_PREFIX}{secrets.token_hex(16)}"
        _attempt(f"{naming.STATE_DIR}/{staging}", os.mkdir, staging, 0o700, dir_fd=state)
        try:
            journal = _stage(tree, staging, changes)
        except BaseException:
            _remove(state, staging)
            raise
        _complete(tree, staging, journal)


def recover(root: Path) -> None:
    """Finish or undo what an interrupted compile left under naming.STATE_DIR: a staging
    folder with a journal is completed, one without is removed. The journal is read as
    untrusted input (a checkout can hold one): see `_journal`."""
    with Root(root) as tree:
        state = tree.folder(naming.STATE_DIR)
        if state is None:
            return
        for name in listing(state):
            if not name.startswith(STAGING_PREFIX):
                continue
            if not stat.S_ISDIR(os.stat(name, dir_fd=state, follow_symlinks=False).st_mode):
                _attempt(f"{naming.STATE_DIR}/{name}", os.unlink, name, dir_fd=state)
                continue
            journal = _journal(tree, name)
            if journal is None:
                _remove(state, name)
            else:
                _complete(tree, name, journal)


def pending(root: Path) -> str | None:
    """The staging folder of an interrupted compile that decided its change, if any: the files
    on disk are then part old, part new until a compile finishes it."""
    if not root.is_dir():
        return None
    with Root(root) as tree:
        state = tree.folder(naming.STATE_DIR)
        if state is None:
            return None
        for name in listing(state):
            if name.startswith(STAGING_PREFIX) and tree.exists(
                f"{naming.STATE_DIR}/{name}/{JOURNAL}"
            ):
                return f"{naming.STATE_DIR}/{name}"
    return None


@contextlib.contextmanager
def lock(root: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the compile lock of `root` (one per resolved output root, in this user's private
    runtime folder, so a checkout cannot plant or redirect it). UserError after `timeout`
    seconds of another compile holding it, or when there is no private folder for it."""
    import filelock

    folder = private.runtime()
    locks = private.folder(folder / "locks") if folder is not None else None
    if locks is None:
        raise UserError(
            "no private folder for the compile lock",
            "set XDG_RUNTIME_DIR to a folder only you can write (mode 0700)",
        )
    where = record.digest(str(root.resolve()))[:32]
    try:
        with filelock.FileLock(locks / f"{where}.lock", timeout=timeout, mode=0o600):
            yield
    except filelock.Timeout:
        raise UserError(
            f"another compile is writing into {root}", "wait for it, then compile again"
        ) from None


def _stage(tree: Root, staging: str, changes: Changes) -> list[list[str]]:
    """Write every new file into the staging folder, then the journal (the commit point)."""
    staged = _folder(tree, f"{naming.STATE_DIR}/{staging}")
    journal: list[list[str]] = []
    for number, (path, text) in enumerate(sorted(changes.write.items())):
        data = text.encode("utf-8")
        mode = 0o755 if text.startswith("#!") else 0o644
        _attempt(path, create, staged, str(number), data, mode)
        journal.append(["write", path, str(number), record.digest(data)])
    for path in changes.delete:
        current = _current(tree, path)
        if current is not None:
            journal.append(["delete", path, "", record.digest(current)])
    where = f"{naming.STATE_DIR}/{staging}/{JOURNAL}"
    _attempt(where, create, staged, f"{JOURNAL}.new", json.dumps(journal).encode(), 0o600)
    _attempt(where, os.rename, f"{JOURNAL}.new", JOURNAL, src_dir_fd=staged, dst_dir_fd=staged)
    return journal


def _complete(tree: Root, staging: str, journal: list[list[str]]) -> None:
    """Move the staged files into place and delete what the journal says; each step may have
    been done already by an interrupted run. Then remove the staging folder."""
    state = _folder(tree, naming.STATE_DIR)
    staged = _folder(tree, f"{naming.STATE_DIR}/{staging}")
    for action, path, name, digest in journal:
        if action == "write" and tree.exists(f"{naming.STATE_DIR}/{staging}/{name}"):
            parent = _folder(tree, _parent(path), create=True)
            _attempt(path, os.rename, name, _name(path), src_dir_fd=staged, dst_dir_fd=parent)
        elif action == "delete" and _matches(tree, path, digest):
            parent = _folder(tree, _parent(path))
            _attempt(path, os.unlink, _name(path), dir_fd=parent)
    _attempt(f"{naming.STATE_DIR}/{staging}", os.unlink, JOURNAL, dir_fd=staged)
    _remove(state, staging)


def _journal(tree: Root, staging: str) -> list[list[str]] | None:
    """The journal in a staging folder, None when there is none. UserError unless every entry
    is a generated path (naming.is_generated_path) and every staged file is there with its
    digest or already in place: then completing it writes nothing a compile could not."""
    where = f"{naming.STATE_DIR}/{staging}"
    text = tree.read(f"{where}/{JOURNAL}")
    if text is None:
        return None
    try:
        journal = json.loads(text)
        for action, path, name, digest in journal:
            if action not in ("write", "delete") or not naming.is_generated_path(path):
                raise ValueError(path)
            if not (name.isdigit() if action == "write" else name == ""):
                raise ValueError(name)
            if action == "write" and not (
                _matches(tree, f"{where}/{name}", digest) or _matches(tree, path, digest)
            ):
                raise ValueError(name)
    except (ValueError, TypeError) as error:
        raise UserError(
            f"{where}/{JOURNAL} does not describe an interrupted compile: {error}",
            f"remove {where}, then compile again",
        ) from None
    return list(journal)


def _matches(tree: Root, path: str, digest: str) -> bool:
    """Whether a regular file at `path` holds content with `digest`."""
    current = _current(tree, path)
    return current is not None and record.digest(current) == digest


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

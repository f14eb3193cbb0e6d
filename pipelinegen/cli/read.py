"""Reading the spec from disk, with the messages for a missing or unreadable file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelinegen.errors import Diagnostic, UserError
from pipelinegen.spec.repository import WorkingTree

if TYPE_CHECKING:
    from pipelinegen.spec.models import Spec


def repository_root(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` that holds `.git` (a directory, or the file of a
    worktree or submodule), or None outside a git repository."""
    for candidate in (folder.resolve(), *folder.resolve().parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def locate_spec(folder: Path, name: str) -> Path:
    """`name` in `folder` or the nearest folder above it, up to the repository root (only
    `folder` itself outside a repository), as a path relative to `folder`."""
    root = repository_root(folder)
    here = folder.resolve()
    climbs = len(here.relative_to(root).parts) if root is not None else 0
    for up in range(climbs + 1):
        candidate = Path(*[".."] * up, name) if up else Path(name)
        if (folder / candidate).is_file():
            return folder / candidate if folder != Path() else candidate
    where = f"{here} or any folder above it up to {root}" if climbs else str(here)
    raise UserError(f"no {name} in {where}", "create one with 'pipelinegen init'")


def repository_path(path: Path) -> str:
    """`path` relative to its repository's root, with '/', as GitHub names files in
    annotations; as given when it is outside a repository."""
    root = repository_root(path.parent)
    if root is None:
        return path.as_posix()
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:  # a symlink out of the repository
        return path.as_posix()


def read_text(path: Path) -> str:
    """The spec's text, or a UserError saying why there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", "create one with 'pipelinegen init'") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read: {error}") from None


def read_spec(path: Path, warnings: list[Diagnostic] | None = None) -> tuple[Spec, str]:
    """Load `path`, checking the paths it names against its own folder (the repository root).
    Returns the spec and the text it was read from; warnings go to `warnings`."""
    from pipelinegen.spec.load import load  # the models: compile's cached path needs none

    text = read_text(path)
    tree = WorkingTree(path.parent)
    return load(text, file=str(path), repository=tree, warnings=warnings), text

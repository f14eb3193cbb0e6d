"""Reading the spec from disk: the one place the CLI turns a path into a validated Spec."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelinegen.errors import UserError
from pipelinegen.spec.repository import Repository, WorkingTree

if TYPE_CHECKING:
    from pipelinegen.spec.models import Spec


def read_text(path: Path) -> str:
    """The spec's text, or a UserError saying why there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", "create one with 'pipelinegen init'") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read: {error}") from None


def read_spec(
    path: Path, text: str | None = None, repository: Repository | None = None
) -> tuple[Spec, str]:
    """Load `path` (or `text`, already read from it), checking the paths it names against its
    own folder, the repository root (or against `repository`). Returns the spec and its text."""
    from pipelinegen.spec.load import load  # the models: compile's cached path needs none

    text = read_text(path) if text is None else text
    repository = WorkingTree(path.parent) if repository is None else repository
    return load(text, file=str(path), repository=repository), text

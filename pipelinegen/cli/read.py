"""Reading the spec from disk, with the messages for a missing or unreadable file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelinegen.errors import UserError
from pipelinegen.spec.repository import WorkingTree

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


def read_spec(path: Path) -> tuple[Spec, str]:
    """Load `path`, checking the paths it names against its own folder (the repository root).
    Returns the spec and the text it was read from."""
    from pipelinegen.spec.load import load  # the models: compile's cached path needs none

    text = read_text(path)
    return load(text, file=str(path), repository=WorkingTree(path.parent)), text

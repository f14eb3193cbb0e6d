"""Reading the spec from disk: the one place the CLI turns a path into a validated Spec."""

from __future__ import annotations

from pathlib import Path

from pipelinegen.errors import UserError
from pipelinegen.spec.files import WorkingTree
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Spec


def read_spec(path: Path) -> tuple[Spec, str]:
    """Load `path`, checking the paths it names against its own folder (the repository root).
    Returns the spec and the text it was read from."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", "create one with 'pipelinegen init'") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read: {error}") from None
    return load(text, file=str(path), repository=WorkingTree(path.parent)), text

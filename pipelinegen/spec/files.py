"""Checks of the paths a spec names against the repository it lives in.

The repository is behind a small protocol so the same checks run on a working tree (`validate`,
`compile`) and, later, on a git revision (`diff`), without the spec stage touching the disk itself.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pipelinegen.errors import Diagnostic
from pipelinegen.spec.models import Spec
from pipelinegen.spec.rules import is_file_reference, usage_instructions_length
from pipelinegen.spec.yaml import Document
from pipelinegen.spec.yaml import Path as DataPath

Kind = Literal["file", "directory"]


class Repository(Protocol):
    """Read access to the repository, by repository-relative POSIX path."""

    def kind(self, path: str) -> Kind | None:
        """'file', 'directory', or None when nothing is there."""

    def read_text(self, path: str) -> str:
        """The file's text (UTF-8)."""


@dataclass(frozen=True)
class WorkingTree:
    """A repository checked out at `root`."""

    root: Path

    def kind(self, path: str) -> Kind | None:
        target = self.root / path
        if target.is_file():
            return "file"
        return "directory" if target.is_dir() else None

    def read_text(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")


def check(spec: Spec, document: Document, repository: Repository) -> list[Diagnostic]:
    """Every referenced path must exist, with the right kind; usage text must fit Marketplace."""
    found = [
        document.diagnostic(path, message, hint)
        for path, wanted, name in _references(spec)
        if (message := _missing(repository, name, wanted))
        for hint in [f"paths are relative to the repository root ({document.file}'s folder)"]
    ]
    found.extend(_usage_instructions(spec, document, repository))
    return found


def _references(spec: Spec) -> Iterator[tuple[DataPath, Kind, str]]:
    for index, image in enumerate(spec.images):
        yield ("images", index, "context"), "directory", image.context
        dockerfile = posixpath.normpath(posixpath.join(image.context, image.dockerfile))
        yield ("images", index, "dockerfile"), "file", dockerfile
    yield ("helm", "chart"), "directory", spec.helm.chart
    yield ("helm", "chart"), "file", posixpath.join(spec.helm.chart, "Chart.yaml")
    for index, environment in enumerate(spec.environments):
        for position, values in enumerate(environment.values):
            yield ("environments", index, "values", position), "file", values
    if spec.marketplace and is_file_reference(spec.marketplace.usage_instructions):
        path = ("marketplace", "usage_instructions")
        yield path, "file", posixpath.normpath(spec.marketplace.usage_instructions)


def _missing(repository: Repository, path: str, wanted: Kind) -> str:
    """The problem with `path`, or '' when it is there with the wanted kind."""
    found = repository.kind(path)
    if found == wanted:
        return ""
    if found is None:
        return f"{wanted} '{path}' does not exist"
    return f"'{path}' is a {found}, not a {wanted}"


def _usage_instructions(
    spec: Spec, document: Document, repository: Repository
) -> Iterator[Diagnostic]:
    if not spec.marketplace or not is_file_reference(spec.marketplace.usage_instructions):
        return
    path = posixpath.normpath(spec.marketplace.usage_instructions)
    if repository.kind(path) == "file":
        length = len(repository.read_text(path))
        yield from usage_instructions_length(document, f"'{path}'", length)

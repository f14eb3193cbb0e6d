"""The one place that says how pipelinegen fails: diagnostics, exceptions and exit codes.

A diagnostic is data (file, line, column, message, hint) so every front end — text for people,
JSON for scripts, GitHub annotations for pull requests — renders the same findings.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from pipelinegen.printable import one_line


class ExitCode(enum.IntEnum):
    """Process exit codes; part of the public CLI contract."""

    OK = 0
    FAILURE = 1  # invalid spec, stale output, failed check
    USAGE = 2  # bad command line (click's own code)
    INTERNAL = 3  # a bug in pipelinegen


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One located problem. Lines and columns are 1-based, like every compiler's."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def render(self) -> str:
        """`file:line:col: message`, then the hint indented on its own line; each one line,
        with control and bidirectional characters escaped (pipelinegen.printable)."""
        text = f"{one_line(self.file)}:{self.line}:{self.column}: {one_line(self.message)}"
        return f"{text}\n  hint: {one_line(self.hint)}" if self.hint else text


def sorted_unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort by position and drop exact repeats, so every run prints the same list."""
    return sorted(set(diagnostics))


class PipelinegenError(Exception):
    """Base of every error pipelinegen expects; anything else is a bug (exit 3)."""

    exit_code = ExitCode.FAILURE


class SpecError(PipelinegenError):
    """The spec is invalid; carries every diagnostic found in one run."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted_unique(diagnostics)
        super().__init__(f"{len(self.diagnostics)} problem(s) in the spec")


class UserError(PipelinegenError):
    """A failure the user can fix that is not about the spec's content (a missing file, ...)."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

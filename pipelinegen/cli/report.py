"""Reporters: the same diagnostics as text for people, JSON for scripts, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import click

from pipelinegen.cli.read import repository_path
from pipelinegen.errors import Diagnostic, UserError
from pipelinegen.printable import one_line

Reporter = Callable[[str, Sequence[Diagnostic]], None]


def text(file: str, diagnostics: Sequence[Diagnostic]) -> None:
    """Compiler style on stderr; a one-line verdict on stdout when the spec is valid."""
    for diagnostic in diagnostics:
        click.echo(diagnostic.render(), err=True)
    if diagnostics:
        noun = "problem" if len(diagnostics) == 1 else "problems"
        click.echo(f"{file}: {len(diagnostics)} {noun}", err=True)
    else:
        click.echo(f"{file}: valid")


def as_json(file: str, diagnostics: Sequence[Diagnostic]) -> None:
    """`{"file", "valid", "diagnostics": [{file, line, column, message, hint}]}` on stdout."""
    document = {
        "file": file,
        "valid": not diagnostics,
        "diagnostics": [asdict(diagnostic) for diagnostic in diagnostics],
    }
    click.echo(json.dumps(document, indent=2))


def github(file: str, diagnostics: Sequence[Diagnostic]) -> None:
    """Workflow commands that GitHub shows inline on the pull request's diff; GitHub matches
    `file=` against repository-relative paths, so that is what they carry."""
    for d in diagnostics:
        message = f"{one_line(d.message)}\n{one_line(d.hint)}" if d.hint else one_line(d.message)
        where = one_line(repository_path(Path(d.file)))
        properties = f"file={_escape_property(where)},line={d.line},col={d.column}"
        click.echo(f"::error {properties},title=pipelinegen::{_escape_data(message)}")
    if not diagnostics:
        click.echo(f"{file}: valid")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def text_warnings(diagnostics: Sequence[Diagnostic]) -> None:
    """`file:line:col: warning: message` on stderr: valid, but probably not what was meant."""
    for d in diagnostics:
        click.echo(
            Diagnostic(d.file, d.line, d.column, f"warning: {d.message}", d.hint).render(), err=True
        )


def github_warnings(diagnostics: Sequence[Diagnostic]) -> None:
    """`::warning` workflow commands, shown inline on the pull request like errors."""
    for d in diagnostics:
        message = f"{d.message}\n{d.hint}" if d.hint else d.message
        where = repository_path(Path(d.file))
        properties = f"file={_escape_property(where)},line={d.line},col={d.column}"
        click.echo(f"::warning {properties},title=pipelinegen::{_escape_data(message)}")


def json_warnings(diagnostics: Sequence[Diagnostic]) -> None:
    """On stderr, one JSON object a line, so stdout stays the one document scripts parse."""
    for d in diagnostics:
        click.echo(json.dumps({"warning": asdict(d)}), err=True)


WARNERS: dict[str, Callable[[Sequence[Diagnostic]], None]] = {
    "text": text_warnings,
    "json": json_warnings,
    "github": github_warnings,
}

REPORTERS: dict[str, Reporter] = {"text": text, "json": as_json, "github": github}


Fatal = Callable[[str, UserError], None]


def text_fatal(file: str, error: UserError) -> None:
    """`error: message` and the hint, on stderr."""
    click.echo(f"error: {one_line(error.message)}", err=True)
    if error.hint:
        click.echo(f"  hint: {one_line(error.hint)}", err=True)


def json_fatal(file: str, error: UserError) -> None:
    """The JSON shape with `valid: false`, no diagnostics and the `error` that stopped it."""
    document = {
        "file": file,
        "valid": False,
        "diagnostics": [],
        "error": {"message": error.message, "hint": error.hint},
    }
    click.echo(json.dumps(document, indent=2))


def github_fatal(file: str, error: UserError) -> None:
    """One annotation on the run (there is no line to point at)."""
    message = one_line(error.message) + (f"\n{one_line(error.hint)}" if error.hint else "")
    click.echo(f"::error title=pipelinegen::{_escape_data(message)}")


FATAL: dict[str, Fatal] = {"text": text_fatal, "json": json_fatal, "github": github_fatal}

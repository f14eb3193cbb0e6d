"""Reporters: the same diagnostics as text for people, JSON for scripts, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict

import click

from pipelinegen.errors import Diagnostic

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
    """Workflow commands that GitHub shows inline on the pull request's diff."""
    for d in diagnostics:
        message = f"{d.message}\n{d.hint}" if d.hint else d.message
        properties = f"file={_escape_property(d.file)},line={d.line},col={d.column}"
        click.echo(f"::error {properties},title=pipelinegen::{_escape_data(message)}")
    if not diagnostics:
        click.echo(f"{file}: valid")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


REPORTERS: dict[str, Reporter] = {"text": text, "json": as_json, "github": github}

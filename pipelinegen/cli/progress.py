"""Progress for people waiting at a terminal; silence for logs, pipes and scripts."""

from __future__ import annotations

import sys

import click


def progress(message: str) -> None:
    """`message` on stderr when stderr is a terminal, else nothing: stdout stays the result,
    and CI logs stay the report."""
    if sys.stderr.isatty():
        click.echo(message, err=True)

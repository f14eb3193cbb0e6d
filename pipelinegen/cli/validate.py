"""`pipelinegen validate`: check a spec and report every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from pipelinegen.cli.options import spec_argument
from pipelinegen.cli.read import read_spec
from pipelinegen.cli.report import REPORTERS
from pipelinegen.errors import ExitCode, SpecError


@click.command("validate")
@spec_argument
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="text for people, json for scripts, github for inline pull-request annotations.",
)
def command(spec: Path, output_format: str) -> None:
    """Validate SPEC (default: pipeline.yaml) and the paths it names.

    Prints every problem as FILE:LINE:COL: message, with a hint. Exits 1 when the spec is invalid.
    """
    try:
        read_spec(spec)
    except SpecError as error:
        REPORTERS[output_format](str(spec), error.diagnostics)
        raise click.exceptions.Exit(ExitCode.FAILURE) from None
    REPORTERS[output_format](str(spec), [])

"""`pipelinegen validate`: check a spec and report every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from pipelinegen.cli.options import DEFAULT_SPEC
from pipelinegen.cli.read import locate_spec, read_spec
from pipelinegen.cli.report import FATAL, REPORTERS, WARNERS
from pipelinegen.errors import Diagnostic, ExitCode, SpecError, UserError, sorted_unique


@click.command("validate")
@click.argument(
    "spec", type=click.Path(dir_okay=False, path_type=Path), required=False, metavar="[SPEC]"
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="text for people, json for scripts, github for inline pull-request annotations.",
)
def command(spec: Path | None, output_format: str) -> None:
    """Validate SPEC (default: pipeline.yaml) and the paths it names.

    Prints every problem as FILE:LINE:COL: message, with a hint. Exits 1 when the spec is invalid,
    or cannot be found or read (reported in the same format). With Helm 4 on PATH it also renders
    the chart for every environment, as install and as upgrade, and runs the chart check
    (docs/chart-check.md).
    """
    warnings: list[Diagnostic] = []
    try:
        spec = spec if spec is not None else locate_spec(Path(), DEFAULT_SPEC)
        loaded, text = read_spec(spec, warnings)
    except UserError as error:
        FATAL[output_format](str(spec or DEFAULT_SPEC), error)
        raise click.exceptions.Exit(ExitCode.FAILURE) from None
    except SpecError as error:
        WARNERS[output_format](sorted(set(warnings)))
        REPORTERS[output_format](str(spec), error.diagnostics)
        raise click.exceptions.Exit(ExitCode.FAILURE) from None
    WARNERS[output_format](sorted(set(warnings)))
    from pipelinegen.chart.render import render_check  # renders the chart with helm
    from pipelinegen.spec.yaml import parse

    rendered = render_check(loaded, parse(text, str(spec)), spec.parent)
    for note in rendered.notes:
        click.echo(f"note: {note}", err=True)
    diagnostics = sorted_unique(rendered.diagnostics)
    REPORTERS[output_format](str(spec), diagnostics)
    if diagnostics:
        raise click.exceptions.Exit(ExitCode.FAILURE)

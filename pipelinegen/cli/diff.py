"""`pipelinegen diff`: what a change does to the generated CI and CD, for pull requests."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from pipelinegen.cli.options import spec_argument
from pipelinegen.errors import ExitCode, UserError

FORMATS = ("text", "markdown", "json")


@click.command("diff")
@spec_argument
@click.option(
    "--base",
    help="The revision to compare from. Default: the merge base with the "
    "default branch when it can be found, else HEAD.",
)
@click.option("--head", help="The revision to compare to. Default: the working tree.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="markdown is made for a pull-request comment.",
)
@click.option(
    "--synth",
    is_flag=True,
    help="Also synthesize both sides and show CloudFormation and IAM changes.",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes, like git diff.")
def command(
    spec: Path,
    base: str | None,
    head: str | None,
    output_format: str,
    synth: bool,
    exit_code: bool,
) -> None:
    """Compare the pipeline SPEC (default: pipeline.yaml) compiles to at two revisions.

    Both sides compile in memory from git; nothing is written. Exits 1 when the head side is
    invalid (or, with --exit-code, when anything changed).
    """
    from pipelinegen.diff import report
    from pipelinegen.diff.compare import compare
    from pipelinegen.diff.sides import load_sides

    base_side, head_side = load_sides(spec, base=base, head=head)
    comparison = compare(base_side, head_side)
    cloudformation = _synth_diff(base_side.files, head_side.files) if synth else None
    if output_format == "json":
        click.echo(json.dumps(report.as_dict(comparison, cloudformation), indent=2))
    elif output_format == "markdown":
        click.echo(report.markdown(comparison, cloudformation), nl=False)
    else:
        click.echo(report.text(comparison, cloudformation), nl=False)
    cloudformation_changed = cloudformation is not None and not cloudformation.empty
    if head_side.diagnostics or (exit_code and (comparison.changed or cloudformation_changed)):
        raise click.exceptions.Exit(ExitCode.FAILURE)


def _synth_diff(before: dict[str, str], after: dict[str, str]) -> Any:
    from pipelinegen.diff.cloudformation import diff_templates
    from pipelinegen.synthesis import synthesize

    with tempfile.TemporaryDirectory(prefix="pipelinegen-diff-") as work:
        sides: list[dict[str, Any]] = []
        for name, files in (("base", before), ("head", after)):
            if not files:  # a missing or invalid side deploys nothing
                sides.append({})
                continue
            try:
                sides.append(synthesize(files, Path(work) / name))
            except UserError as error:
                raise UserError(f"{name}: {error.message}", error.hint) from None
        return diff_templates(sides[0], sides[1])

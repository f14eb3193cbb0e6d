"""`pipelinegen diff`: what a change does to the generated CI and CD, for pull requests."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, get_args

import click

from pipelinegen.cli.options import spec_argument
from pipelinegen.cli.progress import progress
from pipelinegen.errors import ExitCode, UserError

FORMATS = ("text", "markdown", "json")
RISKS = ("high", "medium", "low")


@click.command("diff")
@spec_argument
@click.option(
    "--base",
    help="The revision to compare from. Default: the merge base of HEAD and the default "
    "branch (origin's, else the local one); never a guess.",
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
@click.option(
    "--fail-on",
    type=click.Choice(RISKS),
    help="Exit 1 when a change of this risk or higher is found (for CI gates).",
)
@click.option(
    "--fetch/--no-fetch",
    default=True,
    show_default=True,
    help="In a shallow clone, fetch history from origin to find the merge base; with "
    "--no-fetch, stop and print the git fetch to run instead.",
)
def command(
    spec: Path,
    base: str | None,
    head: str | None,
    output_format: str,
    synth: bool,
    exit_code: bool,
    fail_on: str | None,
    fetch: bool,
) -> None:
    """Compare what the pipeline SPEC (default: pipeline.yaml) compiles to at two revisions,
    and the generated files committed at the head with what its spec compiles to.

    Both sides compile in memory from git; nothing is written. Exits 1 when the head side is
    invalid, when there is no merge base to compare with, with --fail-on when a change of
    that risk or higher is found, or with --exit-code when anything changed.
    """
    from pipelinegen.diff import report
    from pipelinegen.diff.compare import compare
    from pipelinegen.diff.rules import Risk
    from pipelinegen.diff.sides import load_sides

    def say(message: str) -> None:
        click.echo(f"pipelinegen diff: {message}", err=True)

    base_side, head_side, committed = load_sides(spec, base=base, head=head, fetch=fetch, say=say)
    comparison = compare(base_side, head_side, committed, _chart_diff(base_side, head_side, say))
    cloudformation = _synth_diff(base_side.files, head_side.files) if synth else None
    if output_format == "json":
        click.echo(json.dumps(report.as_dict(comparison, cloudformation), indent=2))
    elif output_format == "markdown":
        click.echo(report.markdown(comparison, cloudformation), nl=False)
    else:
        click.echo(report.text(comparison, cloudformation), nl=False)
    cloudformation_changed = cloudformation is not None and not cloudformation.empty
    risk = next((r for r in get_args(Risk) if r == fail_on), None)
    failed = risk is not None and bool(comparison.at_least(risk))
    if (
        head_side.diagnostics
        or failed
        or (exit_code and (comparison.changed or cloudformation_changed))
    ):
        raise click.exceptions.Exit(ExitCode.FAILURE)


def _chart_diff(base: Any, head: Any, say: Any) -> Any:
    """The chart rendered per environment at both sides, with the helm on PATH (none: said on
    stderr, and the chart's objects are not compared)."""
    from pipelinegen.diff.chart import ChartDiff, SideInput, chart_diff, which_helm

    helm = which_helm()
    if head.spec is None:
        return ChartDiff()
    if helm is None:
        say("helm is not on PATH: what the chart does to each environment is not compared")
        return ChartDiff()
    sides = [SideInput(s.label, s.spec, s.repository, s.files) for s in (base, head)]
    progress("rendering the chart at both revisions for each environment...")
    return chart_diff(sides[0], sides[1], helm=helm)


def _synth_diff(before: dict[str, str], after: dict[str, str]) -> Any:
    from pipelinegen.diff.cloudformation import diff_templates
    from pipelinegen.synthesis import synthesize

    with tempfile.TemporaryDirectory(prefix="pipelinegen-diff-") as work:
        sides: list[dict[str, Any]] = []
        for name, files in (("base", before), ("head", after)):
            if not files:  # a missing or invalid side deploys nothing
                sides.append({})
                continue
            progress(f"synthesizing the {name} side's CDK app (about 10-20 s)...")
            try:
                sides.append(synthesize(files, Path(work) / name))
            except UserError as error:
                raise UserError(f"{name}: {error.message}", error.hint) from None
        return diff_templates(sides[0], sides[1])

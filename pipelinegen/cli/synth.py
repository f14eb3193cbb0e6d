"""`pipelinegen synth`: compile in memory, then synthesize the CDK app into CloudFormation."""

from __future__ import annotations

from pathlib import Path

import click

from pipelinegen import naming
from pipelinegen.cli.options import spec_argument
from pipelinegen.cli.progress import progress
from pipelinegen.cli.read import read_spec


@click.command("synth")
@spec_argument
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the cloud assembly. Default: deploy/cdk/cdk.out beside the spec.",
)
def command(spec: Path, out: Path | None) -> None:
    """Synthesize SPEC's CDK app into CloudFormation templates, without writing the app.

    Needs aws-cdk-lib in this Python (pip install -r deploy/cdk/requirements.txt) and Node.js.
    """
    from pipelinegen.render import Source, render  # the templates: synth's own cost
    from pipelinegen.synthesis import synthesize

    validated, text = read_spec(spec)
    target = out or spec.parent / naming.CDK_APP_DIR / "cdk.out"
    progress("synthesizing the CDK app (aws-cdk-lib on Node.js; about 10-20 s)...")
    templates = synthesize(render(validated, Source(path=spec.name, text=text)), target)
    for stack in templates:
        click.echo(target / f"{stack}.template.json")
    click.echo(f"synthesized {len(templates)} stacks into {target}")

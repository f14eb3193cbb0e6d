"""`pipelinegen graph`: the pipeline as a Mermaid diagram, the one `compile` writes."""

from __future__ import annotations

from pathlib import Path

import click

from pipelinegen.cli.options import spec_argument
from pipelinegen.cli.read import read_spec


@click.command("graph")
@spec_argument
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("mermaid", "markdown")),
    default="mermaid",
    show_default=True,
    help="mermaid: the diagram's source; markdown: the file compile writes "
    "(.pipelinegen/pipeline.md).",
)
def command(spec: Path, output_format: str) -> None:
    """Print the flow of SPEC (default: pipeline.yaml) as a Mermaid flowchart: CI checks →
    release → handoff → pipeline stages → environments with their approvals → Marketplace."""
    from pipelinegen.graph.flow import flow
    from pipelinegen.graph.mermaid import graph, render
    from pipelinegen.render.diagram import diagram_document

    validated, _ = read_spec(spec)
    if output_format == "markdown":
        click.echo(diagram_document(validated, spec_path=spec.name), nl=False)
    else:
        click.echo(render(graph(flow(validated))), nl=False)

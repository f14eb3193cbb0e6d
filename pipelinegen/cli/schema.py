"""`pipelinegen schema`: print or write the spec's JSON Schema."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("schema")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of standard output.",
)
def command(output: Path | None) -> None:
    """Print the JSON Schema of pipeline.yaml, for editors and other tools."""
    from pipelinegen.spec import schema  # only this command needs it

    text = schema.render()
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")

"""Options and arguments shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_SPEC = "pipeline.yaml"


def _locate(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    from pipelinegen.cli.read import locate_spec

    return value if value is not None else locate_spec(Path(), DEFAULT_SPEC)


spec_argument = click.argument(
    "spec",
    type=click.Path(dir_okay=False, path_type=Path),
    required=False,
    callback=_locate,
    metavar="[SPEC]",
)
"""SPEC, or pipeline.yaml looked up from the current folder to the repository root."""

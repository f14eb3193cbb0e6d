"""Options and arguments shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_SPEC = "pipeline.yaml"

spec_argument = click.argument(
    "spec",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_SPEC,
    metavar="[SPEC]",
)

"""Where the shipped data files are: `schemas/` and `templates/`.

In the repository they sit at the top level, where people look for them; the wheel carries them
inside the package (see pyproject.toml's force-include). An installed package finds them beside
its modules, a source checkout (an editable install) one level up.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory `schemas` or `templates`, installed or in a checkout."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


def schema_path() -> Path:
    """The committed JSON Schema of the spec."""
    return data_dir("schemas") / "pipeline.schema.json"

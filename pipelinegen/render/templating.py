"""The one jinja2 environment: strict about undefined names, and values enter YAML serialized.

Templates only lay out text; any value that comes from a user goes through the `yaml` filter,
which writes it as a quoted scalar (JSON is valid YAML), so no spec string can change the
structure of a generated file.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2

from pipelinegen.resources import data_dir


def yaml_scalar(value: Any) -> str:
    """A YAML flow scalar for `value` (string, number, boolean, or a list/map of those)."""
    return json.dumps(value, ensure_ascii=False)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, JSON and shell, not HTML: values are escaped by filters
    )
    env.filters["yaml"] = yaml_scalar
    return env


def render(template: str, **values: Any) -> str:
    """Render `template` (a path under templates/) with plain, precomputed values."""
    return environment().get_template(template).render(**values)

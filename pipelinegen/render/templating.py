"""The one jinja2 environment, and the filters through which every value enters a template.

Templates only lay out text. Values go through `yaml` (a scalar or a flow list/map, plain where
that is unambiguous, JSON-quoted otherwise) or `block` (a literal block scalar for scripts), so no
spec string can change the structure of a generated file. The delimiters are `[[ ]]` and
`[% %]`, so GitHub's own `${{ }}` expressions stay literal in workflow templates.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jinja2

from pipelinegen.resources import data_dir

# Plain scalars that YAML 1.1 or 1.2 readers (GitHub's included) could take for something other
# than a string are quoted; so is anything outside a conservative character set.
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_NOT_A_STRING = re.compile(r"^(?:y|n|yes|no|on|off|true|false|null|~)$", re.IGNORECASE)


def yaml_scalar(value: Any) -> str:
    """`value` as a YAML flow value: strings plain when safe, everything else as JSON."""
    if isinstance(value, str) and _PLAIN.match(value) and not _NOT_A_STRING.match(value):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(yaml_scalar(item) for item in value) + "]"
    return _quoted(value)


def _quoted(value: Any) -> str:
    """A YAML double-quoted scalar (numbers and booleans as JSON, which YAML reads alike)."""
    if not isinstance(value, str):
        return json.dumps(value)
    return '"' + "".join(_escape(c) for c in value) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(character: str) -> str:
    if character in _ESCAPES:
        return _ESCAPES[character]
    if character.isprintable():
        return character
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def yaml_block(text: str, indent: int) -> str:
    """`text` as a literal block scalar indented by `indent` spaces, e.g. a multi-line `run:`.

    Falls back to a quoted scalar for text a block scalar cannot hold exactly: control
    characters, a first line that starts with white space, or several trailing newlines.
    """
    content = [line for line in text.split("\n") if line.strip()]
    if (
        not content
        or content[0][0] in " \t"
        or text.endswith("\n\n")
        or not all(c == "\n" or c == "\t" or c.isprintable() for c in text)
    ):
        return _quoted(text)
    chomp = "" if text.endswith("\n") else "-"
    pad = " " * indent
    lines = text.removesuffix("\n").split("\n")
    return f"|{chomp}\n" + "\n".join(pad + line if line else "" for line in lines)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML, JSON and shell, not HTML: values are escaped by filters
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
    )
    env.filters["yaml"] = yaml_scalar
    env.filters["block"] = yaml_block
    return env


def render(template: str, **values: Any) -> str:
    """Render `template` (a path under templates/) with plain, precomputed values."""
    return environment().get_template(template).render(**values)

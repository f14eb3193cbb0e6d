"""The one jinja2 environment, and the filters through which every value enters a template.

Templates only lay out text. Values go through `yaml` (a scalar or a flow list/map, plain where
that is unambiguous, JSON-quoted otherwise) or `block` (a literal block scalar for scripts), so no
spec string can change the structure of a generated file. The delimiters are `[[ ]]` and
`[% %]`, so GitHub's own `${{ }}` expressions stay literal in workflow templates.

Compiled templates are kept in the compile cache's directory (see pipelinegen.cache), keyed by
each template's source and by this module and jinja2's version (which decide the compiled code).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from pipelinegen import cache, private
from pipelinegen.resources import data_dir

# A plain (unquoted) scalar is written only where no YAML 1.1 or 1.2 reader (GitHub's included)
# could take it for anything but this string; everything else is double-quoted.
_NOT_A_STRING = re.compile(r"^(?:y|n|yes|no|on|off|true|false|null|~)$", re.IGNORECASE)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`=<+.0123456789~")
_FLOW_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")


def _plain(text: str) -> bool:
    """Safe as a plain scalar in block context (a mapping value on its own line)."""
    return (
        bool(text)
        and text[0] not in _INDICATORS
        and text == text.strip()
        and all(c.isprintable() for c in text)
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and not _NOT_A_STRING.match(text)
    )


def yaml_scalar(value: Any) -> str:
    """`value` as a YAML value on one line: lists in flow style, strings plain when safe."""
    if isinstance(value, list):
        return "[" + ", ".join(_flow_item(item) for item in value) + "]"
    if isinstance(value, str) and _plain(value):
        return value
    return _quoted(value)


def _flow_item(value: Any) -> str:
    """Inside `[...]` commas and brackets are syntax too: a stricter plain set."""
    plain = isinstance(value, str) and _FLOW_PLAIN.match(value) and not _NOT_A_STRING.match(value)
    return str(value) if plain else _quoted(value)


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
    if "\n" not in text and _plain(text):
        return text
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


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """jinja2's on-disk cache of compiled templates, which is code that runs: a file is loaded
    only when it is this user's, in a folder only this user can write, and sealed with this
    user's key (pipelinegen.private). Anything else, or a cache that cannot be read or written,
    only means compiling again."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = private.read(Path(self._get_cache_filename(bucket)))
        seal, _, code = (data or b"").partition(b"\n")
        if not private.verify(code, seal.decode("ascii", errors="replace")):
            return
        try:
            bucket.bytecode_from_string(code)
        except (ValueError, EOFError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = bucket.bytecode_to_string()
        seal = private.seal(code)
        if seal is not None:
            private.write(
                Path(self._get_cache_filename(bucket)), seal.encode("ascii") + b"\n" + code
            )


def _compiled_templates() -> jinja2.BytecodeCache | None:
    """The cache of compiled templates for this jinja2 and this module; None when off, or when
    its folder is not this user's alone."""
    directory = cache.location()
    if directory is None:
        return None
    compiler = hashlib.sha256(jinja2.__version__.encode() + Path(__file__).read_bytes())
    folder = private.folder(directory / "templates" / compiler.hexdigest()[:16])
    return _CompiledTemplates(str(folder)) if folder is not None else None


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        bytecode_cache=_compiled_templates(),
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

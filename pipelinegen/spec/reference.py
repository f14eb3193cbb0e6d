"""The spec reference in markdown, generated from the models (docs/spec.md embeds it).

One section per model, one row per key: its type in words, its default and its description —
the same descriptions editors show on hover, so the two can never disagree.
"""

from __future__ import annotations

import json
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from pipelinegen.spec.introspect import union_tags, unwrap
from pipelinegen.spec.models import Spec
from pipelinegen.spec.types import explained


def render() -> str:
    """Markdown sections for Spec and every model under it, in the order a reader meets them."""
    sections = [_section(model) for model in _models(Spec)]
    return "\n".join(sections)


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every model reachable from its fields, depth-first, each once."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        bare, metadata = unwrap(annotation)
        members = union_tags(bare, metadata)
        if members is not None:
            for member in members.values():
                visit(member)
        elif isinstance(bare, type) and issubclass(bare, BaseModel):
            if bare not in found:
                found.append(bare)
                for field in bare.model_fields.values():
                    visit(field.annotation)
        else:
            for argument in get_args(bare):
                visit(argument)

    visit(root)
    return found


def _section(model: type[BaseModel]) -> str:
    rows = [
        f"| `{field.alias or name}` | {_type(field.annotation, tuple(field.metadata))} | "
        f"{_default(field.default, field.is_required())} | {_cell(field.description or '')} |"
        for name, field in model.model_fields.items()
    ]
    doc = (model.__doc__ or "").strip()
    header = "| key | type | default | description |\n|---|---|---|---|"
    return f"### {model.__name__}\n\n{doc}\n\n{header}\n" + "\n".join(rows) + "\n"


def _type(annotation: Any, metadata: tuple[Any, ...] = ()) -> str:
    bare, extra = unwrap(annotation)
    metadata += extra
    explain = explained(metadata)
    members = union_tags(bare, metadata)
    if members is not None:
        return " or ".join(f"[{m.__name__}](#{m.__name__.lower()})" for m in members.values())
    if explain is not None:
        return explain.what
    origin = get_origin(bare)
    if origin in (Union, types.UnionType):  # untagged: each member in words
        return " or ".join(_type(member) for member in get_args(bare))
    if origin is Literal:
        values = get_args(bare)
        return " \\| ".join(f"`{v}`" for v in values) if len(values) <= 8 else "see the schema"
    if origin is list:
        item = _type(get_args(bare)[0])
        return f"list of ({item})" if " or " in item else f"list of {item}"
    if origin is dict:
        key, value = get_args(bare)
        return f"map of {_type(key)} to {_type(value)}"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return f"[{bare.__name__}](#{bare.__name__.lower()})"
    if bare is Any:
        return "any value"
    names = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if bare not in names:
        raise TypeError(f"the spec reference has no words for {bare!r}: add them here")
    return names[bare]


def _default(value: Any, required: bool) -> str:
    if required:
        return "**required**"
    if value is None or value is PydanticUndefined or isinstance(value, BaseModel):
        return "—"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")

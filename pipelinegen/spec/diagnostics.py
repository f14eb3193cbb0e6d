"""Turn pydantic's validation errors into located, human diagnostics.

pydantic reports a `loc` (a path through the data, with union tags mixed in) and an error type.
This module walks the models along that path to learn what was expected there (the field's
`Explain`, the allowed keys, the Literal choices), drops the union tags to find the YAML position,
and words the message for a person: "'12345' is not a 12-digit AWS account ID", with an example.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from pipelinegen.errors import Diagnostic
from pipelinegen.spec.introspect import union_tags, unwrap
from pipelinegen.spec.types import Explain, explained
from pipelinegen.spec.yaml import Document, Path


@dataclass(frozen=True)
class Expected:
    """What the models expect at one path."""

    path: Path  # the data path, without union tags
    annotation: Any  # the bare type (Annotated and Optional removed)
    metadata: tuple[Any, ...]  # Annotated metadata, e.g. Explain
    owner: type[BaseModel] | None  # the model whose field this is
    field: str | None  # that field's name


def describe(
    errors: list[ErrorDetails], root: type[BaseModel], document: Document
) -> Iterator[Diagnostic]:
    """One diagnostic per pydantic error, located in the document.

    Errors that only echo a problem already reported are dropped: a value the YAML reader could
    not read, a required key reported missing while an unknown key beside it is its typo, and a
    union member's "wrong type" for a value another member reads deeper (`digest: false` in a
    values mapping is about `digest`, not "expected a string, got a mapping").
    """
    located = [(error, _walk(root, error["loc"])) for error in errors]
    typos = {
        (*where.path[:-1], close)
        for error, where in located
        if error["type"] == "extra_forbidden"
        for close in _close_keys(where)
    }
    deeper = {where.path[:i] for _, where in located for i in range(len(where.path))}
    for error, where in located:
        if error["type"] == "missing" and where.path in typos:
            continue
        if error["type"].endswith("_type") and where.path in deeper:
            continue  # a union's other member: the value is of the shape another one reads
        if any(where.path[: len(path)] == path for path in document.unreadable):
            continue
        yield _word(error, where, document)


def data_path(root: type[BaseModel], loc: tuple[str | int, ...]) -> Path:
    """The path in the data that a pydantic error's `loc` names (its union tags dropped)."""
    return _walk(root, loc).path


def _walk(root: type[BaseModel], loc: tuple[str | int, ...]) -> Expected:
    """Follow `loc` through the annotations from `root`, separating union tags from data keys."""
    annotation: Any = root
    metadata: tuple[Any, ...] = ()
    owner: type[BaseModel] | None = None
    name: str | None = None
    path: list[str | int] = []
    parts = list(loc)
    while parts:
        annotation, extra = unwrap(annotation)
        metadata += extra
        part = parts.pop(0)
        if part == "[key]":
            break
        tags = union_tags(annotation, metadata)
        if tags is not None:
            annotation, metadata = tags.get(str(part), Any), ()
            continue
        member = _union_member(annotation, part)
        if member is not None:  # pydantic names the member of a plain union it tried
            annotation, metadata = member, ()
            continue
        path.append(part)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            owner, name = annotation, str(part)
            annotation = field.annotation if field else Any
            metadata = tuple(field.metadata) if field else ()
        elif origin is list:
            annotation, metadata = get_args(annotation)[0], ()
        elif origin is dict:
            key_type, value_type = get_args(annotation)
            is_key = bool(parts) and parts[0] == "[key]"
            annotation, metadata = (key_type if is_key else value_type), ()
        else:
            annotation, metadata = Any, ()
    annotation, extra = unwrap(annotation)
    return Expected(tuple(path), annotation, metadata + extra, owner, name)


def _union_member(annotation: Any, label: str | int) -> Any:
    """The member of a plain (untagged) union that pydantic's error location `label` names
    (`str`, `constrained-str`, `list[...]`, a model's name), or None."""
    if get_origin(annotation) not in (Union, types.UnionType) or not isinstance(label, str):
        return None
    for member in get_args(annotation):
        bare, _ = unwrap(member)
        origin = get_origin(bare)
        if isinstance(bare, type) and issubclass(bare, BaseModel):
            names = {bare.__name__}
        elif origin in (list, dict):
            names = {f"{origin.__name__}["}
        elif isinstance(bare, type):
            names = {bare.__name__, f"constrained-{bare.__name__}"}
        else:
            names = set()
        if label in names or any(n.endswith("[") and label.startswith(n) for n in names):
            return member
    return None


def _word(error: ErrorDetails, where: Expected, document: Document) -> Diagnostic:
    """The message and hint for one error, at the key or value it concerns."""
    kind, value, context = error["type"], error["input"], error.get("ctx", {})
    explain = explained(where.metadata)
    if kind == "missing":
        return _missing(where, document)
    if kind == "extra_forbidden":
        return _unknown_key(where, document)
    if kind == "pipelinegen":
        return document.diagnostic(where.path, error["msg"], str(context.get("hint", "")))
    if where.path and error["loc"] and error["loc"][-1] == "[key]":
        return _bad_key(where, explain, document)
    message, hint = _message(kind, value, context, where, explain)
    if kind == "string_type" and document.sources.get(where.path, "") not in ("", "null", "~"):
        hint = f'quote it: "{document.sources[where.path]}"'
    return document.diagnostic(where.path, message, hint)


def _missing(where: Expected, document: Document) -> Diagnostic:
    """At the mapping that lacks the key; the hint comes from the model or the field's docs."""
    name = str(where.path[-1])
    hint = f"add '{name}:'"
    if where.owner and where.field:
        special = getattr(where.owner, "missing_hints", {}).get(name)
        description = _first_sentence(where.owner.model_fields[where.field].description or "")
        hint = special or (f"{hint}: {description}" if description else hint)
    message = f"missing required key '{name}'"
    return document.diagnostic(where.path[:-1], message, hint, at_key=True)


def _close_keys(where: Expected) -> list[str]:
    """The field names an unknown key is probably a typo of."""
    allowed = list(where.owner.model_fields) if where.owner else []
    return difflib.get_close_matches(str(where.path[-1]), allowed, n=1, cutoff=0.6)


def _unknown_key(where: Expected, document: Document) -> Diagnostic:
    key = str(where.path[-1])
    allowed = list(where.owner.model_fields) if where.owner else []
    close = _close_keys(where)
    conflict = getattr(where.owner, "conflicts", {}).get(key)
    if close:
        hint = f"did you mean '{close[0]}'?"
    else:
        hint = conflict or f"expected one of: {', '.join(allowed)}"
    return document.diagnostic(where.path, f"unknown key '{key}'", hint, at_key=True)


def _bad_key(where: Expected, explain: Explain | None, document: Document) -> Diagnostic:
    key = str(where.path[-1])
    what = explain.what if explain else "a valid key"
    hint = f"for example: {explain.example}" if explain else ""
    return document.diagnostic(where.path, f"key '{key}' is not {what}", hint, at_key=True)


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _message(
    kind: str, value: Any, context: dict[str, Any], where: Expected, explain: Explain | None
) -> tuple[str, str]:
    """Words for the value-level errors; falls back to pydantic's own message."""
    example = f"for example: {explain.example}" if explain else ""
    if kind in _TYPE_NAMES:
        return _wrong_type(_TYPE_NAMES[kind], value, where, example)
    if kind == "string_pattern_mismatch":
        return f"{_show(value)} is not {explain.what if explain else 'valid here'}", example
    if kind == "literal_error":
        return _not_a_choice(value, where, explain)
    subject = _subject(where)
    if kind == "string_too_short":
        return f"{subject} must not be empty", example
    if kind == "string_too_long":
        return (
            f"{subject} is {len(value)} characters long; the limit is {context['max_length']}",
            "",
        )
    if kind == "too_short":
        noun = "item" if context["min_length"] == 1 else "items"
        return f"{subject} needs at least {context['min_length']} {noun}", ""
    if kind == "too_long":
        limit = context["max_length"]
        return f"{subject} has {context['actual_length']} items; the limit is {limit}", ""
    if kind == "greater_than_equal":
        return f"{subject} must be at least {context['ge']}, not {value}", ""
    if kind == "less_than_equal":
        return f"{subject} must be at most {context['le']}, not {value}", ""
    return str(context.get("error", "")) or kind.replace("_", " "), ""


_YAML_11_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def _wrong_type(expected: str, value: Any, where: Expected, example: str) -> tuple[str, str]:
    if value is None and where.path:
        name = where.path[-1]
        return (f"'{name}' has no value" if isinstance(name, str) else "empty item"), example
    message = f"expected {expected}, got {_kind_of(value)}"
    if expected == "true or false" and str(value).lower() in _YAML_11_BOOLEANS:
        return message, f"'{value}' is a string in YAML 1.2; write true or false"
    return message, ""


def _not_a_choice(value: Any, where: Expected, explain: Explain | None) -> tuple[str, str]:
    literal = get_origin(where.annotation) is Literal
    values = get_args(where.annotation) if literal else ()
    if isinstance(value, str) and value in [str(v) for v in values if not isinstance(v, str)]:
        return f"must be the number {value}, not the string {_show(value)}", "remove the quotes"
    if values and type(value) not in {type(v) for v in values}:  # true or 1.0 for 1, 1 for 'a'
        kinds = " or ".join(sorted({_kind_of(v) for v in values}))
        hint = "expected " + " or ".join(_yaml(v) for v in values) if len(values) <= 8 else ""
        return f"expected {kinds}, got {_kind_of(value)} {_show(_yaml(value))}", hint
    if where.path == ("version",):
        return f"unsupported spec version {_show(value)}", "this pipelinegen reads 'version: 1'"
    choices = [str(v) for v in values]
    close = difflib.get_close_matches(str(value), choices, n=2, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(f"'{choice}'" for choice in close) + "?"
    elif len(choices) <= 8:
        hint = f"expected one of: {', '.join(choices)}"
    else:
        hint = "see the schema for the list of accepted values"
    what = explain.what if explain else "one of the accepted values"
    return f"{_show(value)} is not {what}", hint


def _subject(where: Expected) -> str:
    """What a value-level message is about: the key's name, or 'this item' in a list."""
    name = where.path[-1] if where.path else None
    return f"'{name}'" if isinstance(name, str) else "this item"


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def _yaml(value: Any) -> str:
    """A scalar as YAML writes it (`true`, not Python's `True`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _show(value: Any) -> str:
    """A value quoted on one line: control characters escaped, long values cut."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    return f"'{text[:60]}...'" if len(text) > 63 else f"'{text}'"


def _first_sentence(text: str) -> str:
    sentence = text.split(". ")[0].rstrip(".")
    return sentence[0].lower() + sentence[1:] if sentence else sentence

"""Reading the models' type annotations: shared by the diagnostics and the spec reference."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import Discriminator, Tag


def unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip `Annotated[...]` and `X | None`, keeping Annotated's metadata."""
    metadata: tuple[Any, ...] = ()
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata += tuple(extra)
        elif origin in (Union, types.UnionType) and type(None) in get_args(annotation):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            annotation = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        else:
            return annotation, metadata


def union_tags(annotation: Any, metadata: tuple[Any, ...]) -> dict[str, Any] | None:
    """For a tagged (discriminated) union: its members by tag; otherwise None."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return None
    if not any(isinstance(m, Discriminator) for m in metadata):
        return None
    members: dict[str, Any] = {}
    for member in get_args(annotation):
        bare, extra = unwrap(member)
        for tag in extra:
            if isinstance(tag, Tag):
                members[tag.tag] = bare
    return members

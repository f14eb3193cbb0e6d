"""Literals that compare by type as well as by value, for the strict model base.

pydantic-core validates a `Literal` by looking the input up among the expected values, which
Python compares by equality and hashing: `True == 1 == 1.0` and `hash(True) == hash(1)`, so a
`Literal[1]` accepts `true` and `1.0`, even in strict mode (measured with pydantic 2.14). Every
literal schema in a model's core schema is wrapped in a check that the input's type is the type
of one of the expected values (`bool` and `int` apart); a wrong type fails with pydantic's own
`literal_error`, so messages read as for any other value not in the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import CoreSchema, PydanticKnownError, core_schema


def exact_literals(schema: CoreSchema) -> CoreSchema:
    """`schema` with every literal schema inside it (at any depth) type-checked."""
    found = _walk(schema)
    assert isinstance(found, dict)
    return found


def _walk(node: Any) -> Any:
    if isinstance(node, list):
        return [_walk(item) for item in node]
    if not isinstance(node, dict):
        return node
    walked = {key: _walk(value) for key, value in node.items()}
    if walked.get("type") == "literal":
        return core_schema.no_info_before_validator_function(
            _exact_type(list(walked["expected"])), walked
        )
    return walked


def _exact_type(expected: list[Any]) -> Callable[[Any], Any]:
    kinds = {type(value) for value in expected}
    words = " or ".join(repr(value) for value in expected)

    def check(value: Any) -> Any:
        if type(value) not in kinds:
            raise PydanticKnownError("literal_error", {"expected": words})
        return value

    return check

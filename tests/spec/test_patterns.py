"""Every constrained string of the spec means the whole value: a trailing newline passes no
pattern (Python's `$` matches before one; pipelinegen.spec.types' docstring)."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError

from pipelinegen.spec import types


def _patterned() -> list[tuple[str, object, str]]:
    found = []
    for name, value in vars(types).items():
        if typing.get_origin(value) is not typing.Annotated:
            continue
        for meta in value.__metadata__:
            if isinstance(meta, StringConstraints) and meta.pattern:
                found.append((name, value, str(meta.pattern)))
    return found


PATTERNED = _patterned()
# Where the type's example is written for people (quoted, or with a placeholder): a valid value.
VALID = {
    "TagPattern": "v*",
    "Account": "111111111111",
    "ToolVersion": "3.12",
    "KubernetesVersion": "1.35",
    "PinnedReference": "docker.io/library/rabbitmq:4.1@sha256:" + "0" * 64,
}


def test_there_are_patterns_to_check() -> None:
    assert len(PATTERNED) > 30


@pytest.mark.parametrize(("name", "kind", "pattern"), PATTERNED, ids=[n for n, _, _ in PATTERNED])
def test_a_trailing_newline_is_refused(name: str, kind: object, pattern: str) -> None:
    explain = types.explained(typing.get_args(kind)[1:])
    example = VALID.get(name, explain.example if explain is not None else None)
    assert isinstance(example, str) and re.search(pattern, example), f"give {name} a value"
    adapter: TypeAdapter[str] = TypeAdapter(
        kind,  # type: ignore[arg-type]
        config=ConfigDict(regex_engine="python-re", strict=True),
    )
    assert adapter.validate_python(example) == example
    with pytest.raises(ValidationError):
        adapter.validate_python(example + "\n")

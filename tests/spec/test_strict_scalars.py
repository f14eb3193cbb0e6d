"""No YAML scalar is coerced across types, for every field of the schema: a boolean is never a
number, a float never an integer, a number or a boolean never a string (and then the hint says
to quote it), and a key is a string or an error. Each scalar field of every model is found by
walking the models; each is set, in a valid spec, to a scalar of every kind it does not accept;
the spec must fail with a diagnostic at that very value, never a traceback."""

from __future__ import annotations

import io
import types
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from ruamel.yaml import YAML

from pipelinegen.errors import SpecError
from pipelinegen.spec.introspect import unwrap
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Spec
from pipelinegen.spec.yaml import parse
from tests.conftest import EXAMPLES, ROOT

Path = tuple[str | int, ...]
SCALARS = (bool, int, float, str)
# A sample of each kind, as YAML reads it back: `1.0` stays a float, `"7"` a string.
SAMPLES: dict[type, st.SearchStrategy[Any]] = {
    bool: st.booleans(),
    int: st.integers(min_value=-(10**6), max_value=10**6),
    float: st.floats(allow_nan=False, allow_infinity=False, width=32).filter(
        lambda f: f != int(f) or abs(f) < 10**6
    ),
    str: st.sampled_from(["7", "1.0", "true", "acme", "null"]),
}


def kinds(annotation: Any) -> set[type]:
    """The Python types of the values a field accepts at its top level."""
    bare, _ = unwrap(annotation)
    origin = get_origin(bare)
    if origin in (Union, types.UnionType):
        return set().union(*(kinds(member) for member in get_args(bare)))
    if origin is Literal:
        return {type(value) for value in get_args(bare)}
    if origin is list or bare is list:
        return {list}
    if origin is dict or bare is dict:
        return {dict}
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return {dict}
    if bare is type(None):
        return {type(None)}
    if bare is Any:  # a patch operation's value: any JSON value, kept as written, never coerced
        return set()
    assert bare in SCALARS, f"a field type this test does not know: {bare!r}"
    return {bare}


def fields(model: type[BaseModel]) -> set[tuple[str, str]]:
    """Every (model, field) of the schema that accepts a scalar."""
    found: set[tuple[str, str]] = set()
    seen: set[type] = set()

    def visit(annotation: Any) -> None:
        bare, _ = unwrap(annotation)
        if get_origin(bare) is dict:  # a map's values (patches: file -> operations) sit under
            return  # keys the spec chooses; tests/invalid/cases/90-* tries them
        for member in get_args(bare) or ():
            visit(member)
        if isinstance(bare, type) and issubclass(bare, BaseModel) and bare not in seen:
            seen.add(bare)
            for name, field in bare.model_fields.items():
                if kinds(field.annotation) & set(SCALARS):
                    found.add((bare.__name__, name))
                visit(field.annotation)

    visit(model)
    return found


def model_at(data: Any, path: Path) -> tuple[type[BaseModel], str] | None:
    """The model and field name at `path` of spec data, following the data's shape."""
    model: Any = Spec
    for i, part in enumerate(path):
        if not isinstance(part, str):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        if part not in model.model_fields:
            return None
        if i == len(path) - 1:
            return model, part
        annotation = model.model_fields[part].annotation
        rest = path[i + 1 :]
        model = _inner(annotation, rest, data, path[: i + 1])
    return None


def _members(annotation: Any) -> list[Any]:
    """A union's members (each unwrapped), or the type itself."""
    bare, _ = unwrap(annotation)
    if get_origin(bare) in (Union, types.UnionType):
        return [m for member in get_args(bare) for m in _members(member)]
    return [bare]


def _inner(annotation: Any, rest: Path, data: Any, here: Path) -> Any:
    """The model the data below `here` is validated against, chosen by the data's shape."""
    members = _members(annotation)
    if rest and isinstance(rest[0], int):  # an item of a list member
        members = [i for m in members if get_origin(m) is list for i in _members(get_args(m)[0])]
        here = (*here, rest[0])
    value = _get(data, here)
    for member in members:
        model = isinstance(member, type) and issubclass(member, BaseModel)
        if model and isinstance(value, dict) and set(value) <= set(member.model_fields):
            return member
    return None


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def leaves(data: Any, path: Path = ()) -> list[Path]:
    """Every mapping value's path (scalars, and the collections themselves)."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            found.append((*path, key))
            found.extend(leaves(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(leaves(value, (*path, i)))
    return found


def dump(data: Any) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


BASES = {
    (path.stem if path.stem != "pipeline" else path.parent.name): parse(
        path.read_text(encoding="utf-8"), "pipeline.yaml"
    ).data
    for path in [
        *(folder / "pipeline.yaml" for folder in EXAMPLES),
        *sorted((ROOT / "tests" / "render" / "specs").glob("*.yaml")),
    ]
}


def model_of(data: Any, path: Path) -> Any:
    """The model the mapping at `path` is validated against (None when none is)."""
    if path == ():
        return Spec
    last = max((i for i, part in enumerate(path) if isinstance(part, str)), default=None)
    if last is None:
        return None
    found = model_at(data, path[: last + 1])
    if found is None:
        return None
    model, name = found
    return _inner(model.model_fields[name].annotation, path[last + 1 :], data, path[: last + 1])


def absent(data: Any) -> list[Path]:
    """The paths of fields a mapping of the spec could have but does not (to insert them)."""
    found: list[Path] = []
    for path in [(), *leaves(data), *_items(data)]:
        value = _get(data, path)
        model = model_of(data, path) if isinstance(value, dict) else None
        if isinstance(model, type) and issubclass(model, BaseModel):
            found.extend((*path, name) for name in model.model_fields if name not in value)
    return found


def _items(data: Any, path: Path = ()) -> list[Path]:
    found: list[Path] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(_items(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.append((*path, i))
            found.extend(_items(value, (*path, i)))
    return found


# The one optional block no spec above has.
BASES["install"] = {
    **BASES["full"],
    "pipelinegen": {
        "git": "https://github.com/acme/pipelinegen.git",
        "commit": "0123456789abcdef0123456789abcdef01234567",
    },
}
CASES = sorted(
    {
        (base, path)
        for base, data in BASES.items()
        for path in [*leaves(data), *absent(data)]
        if isinstance(path[-1], str) and model_at(data, path) is not None
    },
    key=repr,
)


def test_every_scalar_field_of_the_schema_is_tried() -> None:
    tried = set()
    for base, path in CASES:
        found = model_at(BASES[base], path)
        assert found is not None
        tried.add((found[0].__name__, found[1]))
    assert fields(Spec) - tried == set()


@pytest.mark.parametrize(
    ("base", "path"), CASES, ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else v
)
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_scalar_of_another_kind_is_an_error_at_its_value(
    base: str, path: Path, data: st.DataObject
) -> None:
    spec = BASES[base]
    model, name = model_at(spec, path)  # type: ignore[misc]
    accepted = kinds(model.model_fields[name].annotation)
    wrong = [kind for kind in SCALARS if kind not in accepted]
    if not wrong:
        return
    kind = data.draw(st.sampled_from(wrong), label="kind")
    value = data.draw(SAMPLES[kind], label="value")
    changed = _replace(spec, path, value)
    text = dump(changed)
    document = parse(text, "pipeline.yaml")
    assert type(_get(document.data, path)) is kind  # the YAML says what we meant
    where = document.values[path]
    with pytest.raises(SpecError) as raised:
        load(text, file="pipeline.yaml")
    at_value = [
        d for d in raised.value.diagnostics if (d.line, d.column) == (where.line, where.column)
    ]
    # A member of an untagged union (a values entry: a path or a mapping) is reported at the
    # union's value, which encloses it.
    around = {(p.line, p.column) for k, p in document.values.items() if path[: len(k)] == k}
    enclosing = [d for d in raised.value.diagnostics if (d.line, d.column) in around]
    assert at_value or (_in_union(spec, path) and enclosing), (text, raised.value.diagnostics)
    if at_value and kind is not str and unwrap(model.model_fields[name].annotation)[0] is str:
        assert any(d.hint.startswith("quote it") for d in at_value)  # a free string: quote it


def _in_union(data: Any, path: Path) -> bool:
    """Whether an enclosing field of `path` accepts more than one kind of collection item."""
    for end in range(len(path) - 1, 0, -1):
        found = model_at(data, path[:end]) if isinstance(path[end - 1], str) else None
        if found and len(_members(found[0].model_fields[found[1]].annotation)) > 1:
            return True
    return False


def _replace(data: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(data, dict):
        if head not in data:  # a field the base spec leaves out
            return {**data, head: value}
        return {k: (_replace(v, tuple(rest), value) if k == head else v) for k, v in data.items()}
    return [(_replace(v, tuple(rest), value) if i == head else v) for i, v in enumerate(data)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("version: true", "expected an integer, got a boolean 'true'"),
        ("version: 1.0", "expected an integer, got a number '1.0'"),
        ("version: !!float 1", "expected an integer, got a number '1.0'"),
        ("version: !foo 1", "YAML tags such as '!foo' are not supported"),
        ("version: 1\n!foo name2: x", "YAML tags such as '!foo' are not supported"),
        ("version: 1\n1: x", "the key '1' is an integer in YAML, not a string"),
        ("version: 1\nnull: x", "the key 'null' is null in YAML, not a string"),
    ],
)
def test_tags_and_keys_are_never_silently_read(line: str, message: str) -> None:
    text = (
        (EXAMPLES[0] / "pipeline.yaml").read_text(encoding="utf-8").replace("version: 1", line, 1)
    )
    with pytest.raises(SpecError) as raised:
        load(text, file="pipeline.yaml")
    assert message in [d.message for d in raised.value.diagnostics]

"""A chart's values.schema.json with its `$ref`s, resolved offline and inside the chart only.

`validate`, `compile --check` and the pull-request `diff` (which reads a fork's chart) check the
merged values against each chart's schema. A `$ref` is followed only to a JSON file of the same
chart folder, read through the `Repository` protocol (so `diff` reads the git revision, and no
symbolic link leads out); a `$ref` to the network (`http://`, `https://`, anything but a file of
the chart) or to a file outside the chart is a ChartError naming the reference, before any
validation. The files are read once, when the chart is read (`referenced_files`); validation
(`schema_errors`) then resolves references only among them, through a `referencing.Registry`
whose retrieve function refuses every other URI, so jsonschema's own fallback (which fetches
remote references with urllib) never runs. An unresolvable fragment (`#/definitions/nowhere`)
and a cycle of references are ChartErrors too, never a traceback.

Facts: JSON Schema 2020-12 Core, "Base URI, Anchors, and Dereferencing" (a `$ref` resolves
against the base URI of its schema resource); the `referencing` library's `Registry(retrieve=)`
and `jsonschema`'s `registry=` argument (jsonschema 4.18+ documentation, "JSON (Schema)
Referencing").
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from pipelinegen.spec.repository import Repository
from pipelinegen.spec.types import escapes

if TYPE_CHECKING:
    from referencing import Resource

MAX_FILES = 64  # JSON files one chart's schema may reference, transitively
BASE = "file:///"  # a repository path P is the URI file:///P
# Keywords whose values are data, not schemas: a "$ref" key inside them is no reference.
DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})


class SchemaError(Exception):
    """The schema refers to something pipelinegen will not read, or cannot be resolved."""


def uri(path: str) -> str:
    return BASE + path


def referenced_files(
    repository: Repository, chart: str, schema_path: str, schema: Any
) -> dict[str, Any]:
    """Every JSON file of the chart that `schema` (at `schema_path`) reaches by `$ref`, by
    repository path, read once each. SchemaError for a reference outside the chart, to a
    missing or unreadable file, or beyond MAX_FILES files."""
    found: dict[str, Any] = {}
    pending = [(schema_path, schema)]
    while pending:
        source, document = pending.pop()
        for pointer, ref in _refs(document):
            target = _inside(chart, source, pointer, ref)
            if target is None or target == schema_path or target in found:
                continue
            if len(found) >= MAX_FILES:
                raise SchemaError(
                    f"'{schema_path}' references more than {MAX_FILES} files of the chart"
                )
            found[target] = _read(repository, target, f"{source}{pointer}")
            pending.append((target, found[target]))
    return found


def _refs(document: Any, pointer: str = "#") -> Iterator[tuple[str, str]]:
    """(JSON pointer of the `$ref`, its value) for each reference in a schema document."""
    if isinstance(document, dict):
        for key, value in document.items():
            here = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            if key == "$ref" and isinstance(value, str):
                yield here, value
            elif key not in DATA_KEYWORDS:
                yield from _refs(value, here)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            yield from _refs(item, f"{pointer}/{index}")


def _inside(chart: str, source: str, pointer: str, ref: str) -> str | None:
    """The chart file a reference names (None: the same document), or SchemaError."""
    resolved = urljoin(uri(source), ref)
    parts = urlsplit(resolved)
    where = f"$ref '{ref}' at '{source}{pointer}'"
    path = posixpath.normpath(unquote(parts.path)).lstrip("/")
    if parts.scheme != "file" or parts.netloc or parts.query:
        raise SchemaError(
            f"{where} points to '{resolved}': a chart's schema is read only from the chart's "
            "own files (no network)"
        )
    if escapes(path) or not (path + "/").startswith(chart.rstrip("/") + "/"):
        raise SchemaError(f"{where} points to a file outside the chart '{chart}'")
    return None if path == source else path


def _read(repository: Repository, path: str, where: str) -> Any:
    if repository.kind(path) != "file":
        raise SchemaError(f"'{where}' refers to '{path}', which is not a file of the chart")
    try:
        contents = json.loads(repository.read_text(path))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SchemaError(f"'{where}' refers to '{path}', which is not JSON: {error}") from None
    if not isinstance(contents, (dict, bool)):
        raise SchemaError(f"'{where}' refers to '{path}', which is not a JSON schema (an object)")
    return contents


def schema_errors(
    schema: dict[str, Any], schema_path: str, files: dict[str, Any], values: dict[str, Any]
) -> list[tuple[str, str]]:
    """(values path, message) for each error of `values` against `schema`, references resolved
    only among `files` (referenced_files()); SchemaError when one cannot be."""
    import jsonschema  # only charts with a schema need it
    from referencing import Registry
    from referencing.exceptions import NoSuchResource, Unresolvable

    from pipelinegen.chart.paths import dotted  # paths reads charts: imported here, not above

    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    specification = validator_class.META_SCHEMA.get("$schema", "")
    known = {uri(path): contents for path, contents in files.items()}

    def retrieve(address: str) -> Resource[Any]:
        if address not in known:
            raise NoSuchResource(ref=address)  # type: ignore[call-arg]
        return _resource(known[address], specification)

    base = uri(schema_path)
    registry: Registry[Any] = Registry(retrieve=retrieve).with_resource(  # type: ignore[call-arg]
        base, _resource(schema, specification)
    )
    # The schema through a reference to its file, so that its relative references resolve
    # against its place in the chart (unless it sets its own `$id`).
    validator = validator_class({"$ref": base}, registry=registry)
    try:
        return [
            (dotted(list(error.absolute_path)), error.message)
            for error in validator.iter_errors(values)
        ]
    except Unresolvable as error:
        raise SchemaError(f"'{schema_path}': cannot resolve $ref {_ref_of(error)}") from None
    except RecursionError:
        raise SchemaError(
            f"'{schema_path}': its $refs form a cycle that never reaches a schema"
        ) from None


def _resource(contents: Any, specification: str) -> Resource[Any]:
    from referencing import Resource
    from referencing.jsonschema import specification_with

    return Resource.from_contents(contents, default_specification=specification_with(specification))


def _ref_of(error: Exception) -> str:
    ref = getattr(error, "ref", None)
    return f"'{ref}'" if ref else f"({error})"

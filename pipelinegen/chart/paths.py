"""Which values paths a chart defines, as Helm and the chart's authors mean them.

A values path is keys joined by '.', each key optionally followed by list indexes (`[0]`), as
Helm's `--set` writes them (`sidecars[0].image`; helm.sh/docs/intro/using_helm, "The Format and
Limitations of --set"). A chart defines a path when any of these does:

- its values.yaml (the list element must exist: Helm pads a shorter list with nulls);
- its values.schema.json: `properties`, `patternProperties`, `additionalProperties`, `items`,
  `allOf`/`anyOf`/`oneOf` branches and `$ref`s to `#/...` inside the same file (strict charts
  declare optional keys there only, e.g. `components.<c>.imageOverride`);
- its templates: they read `.Values.<the path's first keys>` and name the path's last key as a
  field (`{{ range .Values.components }}{{ .imageOverride }}`), the usual way to read a map of
  blocks.

Subchart values are under the dependency's alias (else its name); a remote subchart, whose files
are not here, defines every path under its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pipelinegen.chart.read import Chart
from pipelinegen.spec.repository import Repository

Key = str | int
SEGMENT = re.compile(r"([A-Za-z0-9_-]+)((?:\[[0-9]+\])*)")
INDEX = re.compile(r"\[([0-9]+)\]")
# `.Values.a.b` in a template (text/template field chains; `$.Values` and `$root.Values` too).
READ = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")
MAX_TEMPLATES = 2000  # files read per chart; a chart with more is read in part


def keys(path: str) -> list[Key]:
    """`a.b[0].c` → ['a', 'b', 0, 'c']; ValueError when `path` is no values path."""
    found: list[Key] = []
    for segment in path.split("."):
        match = SEGMENT.fullmatch(segment)
        if not match:
            raise ValueError(f"{path!r} is not a values path")
        found.append(match.group(1))
        found.extend(int(index) for index in INDEX.findall(match.group(2)))
    return found


def dotted(found: list[Key]) -> str:
    """The inverse of keys()."""
    text = ""
    for key in found:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def lookup(values: Any, found: list[Key]) -> tuple[bool, Any]:
    """(whether `values` holds the path, the value there)."""
    for key in found:
        if isinstance(key, int):
            if not isinstance(values, list) or key >= len(values):
                return False, None
        elif not isinstance(values, dict) or key not in values:
            return False, None
        values = values[key]
    return True, values


class Definitions:
    """The paths a chart defines, by values.yaml, schema and templates; template files are read
    once per chart, on first need."""

    def __init__(self, chart: Chart, repository: Repository) -> None:
        self.chart = chart
        self.repository = repository
        self._reads: dict[str, tuple[set[str], set[str]]] = {}

    def defines(self, path: str | list[Key]) -> bool:
        """Whether the chart (or the subchart under the path's first key) reads `path`."""
        found = keys(path) if isinstance(path, str) else path
        return found[0] == "global" or self._defines(self.chart, found)

    def _defines(self, chart: Chart, found: list[Key]) -> bool:
        if lookup(chart.values, found)[0]:
            return True
        if chart.schema is not None and schema_defines(chart.schema, found):
            return True
        first = found[0]
        if len(found) > 1 and isinstance(first, str) and first in chart.subcharts:
            sub = chart.subcharts[first]
            return sub is None or self._defines(sub, found[1:])
        return self._templates_read(chart, found)

    def _templates_read(self, chart: Chart, found: list[Key]) -> bool:
        names = [key for key in found if isinstance(key, str)]
        if chart.path not in self._reads:
            self._reads[chart.path] = _template_reads(self.repository, f"{chart.path}/templates")
        chains, fields = self._reads[chart.path]
        if ".".join(names) in chains or any(c.startswith(f"{'.'.join(names)}.") for c in chains):
            return True  # the templates read the path, or something inside it
        return names[-1] in fields and any(
            ".".join(names[:count]) in chains for count in range(1, len(names))
        )


def _template_reads(repository: Repository, folder: str) -> tuple[set[str], set[str]]:
    """(every `.Values` chain the templates read, every field name they use)."""
    chains: set[str] = set()
    fields: set[str] = set()
    for path in _template_files(repository, folder):
        try:
            text = repository.read_text(path)
        except (OSError, UnicodeDecodeError):
            continue
        for match in READ.finditer(text):
            parts = match.group(1)[1:].split(".")
            chains.update(".".join(parts[:count]) for count in range(1, len(parts) + 1))
        fields.update(FIELD.findall(text))
    return chains, fields


def _template_files(repository: Repository, folder: str) -> Iterator[str]:
    pending, seen = [folder], 0
    while pending and seen < MAX_TEMPLATES:
        current = pending.pop()
        if repository.kind(current) != "directory":
            continue
        for entry in repository.entries(current):
            path = f"{current}/{entry}"
            kind = repository.kind(path)
            if kind == "directory":
                pending.append(path)
            elif kind == "file" and entry.endswith(TEMPLATE_SUFFIXES):
                seen += 1
                yield path


def schema_defines(schema: dict[str, Any], found: list[Key]) -> bool:
    """Whether `schema` (a values.schema.json) declares the path: see the module's docstring."""
    return any(True for _ in _nodes(schema, schema, found, 0))


def schema_properties(schema: dict[str, Any], found: list[Key]) -> set[str]:
    """The property names `schema` declares for the mapping at the path."""
    names: set[str] = set()
    for node in _nodes(schema, schema, found, 0):
        properties = node.get("properties")
        if isinstance(properties, dict):
            names.update(str(name) for name in properties)
    return names


def _nodes(
    root: dict[str, Any], node: Any, found: list[Key], depth: int
) -> Iterator[dict[str, Any]]:
    """Every schema node that applies at the path, through refs and combinators."""
    if depth > 64 or not isinstance(node, dict):
        return
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#"):
        yield from _nodes(root, _pointer(root, reference), found, depth + 1)
    for combinator in ("allOf", "anyOf", "oneOf"):
        branches = node.get(combinator)
        if isinstance(branches, list):
            for branch in branches:
                yield from _nodes(root, branch, found, depth + 1)
    if not found:
        yield node
        return
    for child in _children(node, found[0]):
        yield from _nodes(root, child, found[1:], depth + 1)


def _children(node: dict[str, Any], key: Key) -> Iterator[Any]:
    if isinstance(key, int):
        items = node.get("items")
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and key < len(prefix):
            yield prefix[key]
        if isinstance(items, dict):
            yield items
        return
    properties = node.get("properties")
    if isinstance(properties, dict) and key in properties:
        yield properties[key]
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict):
        for pattern, child in patterns.items():
            try:
                if re.search(pattern, key):
                    yield child
            except re.error:
                continue
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield extra


def _pointer(root: dict[str, Any], reference: str) -> Any:
    """The node a local JSON pointer (`#/$defs/x`) names, or None (RFC 6901 escapes)."""
    node: Any = root
    for part in reference[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def leaves(chart: Chart) -> Iterator[str]:
    """Every values path the chart and its readable subcharts' values.yaml define, subcharts by
    key, list elements by index."""
    for prefix, each in chart.walk():
        yield from (prefix + path for path in _paths(each.values))


def _paths(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict):
        for key, value in values.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from _paths(value, path)
    elif isinstance(values, list) and prefix:
        for index, value in enumerate(values):
            yield f"{prefix}[{index}]"
            yield from _paths(value, f"{prefix}[{index}]")

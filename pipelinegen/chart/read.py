"""Read a Helm chart as Helm would see it, through the `Repository` protocol (so `validate` reads
a working tree and `diff` a git revision the same way).

A chart is its Chart.yaml (apiVersion v2, or v1 with requirements.yaml), values.yaml,
values.schema.json, and its subcharts: folders in charts/ and `file://` dependencies, each under
the key its values live at in the parent (the dependency's alias, else its name). Remote
dependencies (`https://`, `oci://`) and packaged `charts/*.tgz` are known by name only: their
values are not read here (the CI `chart` job renders them with Helm). Facts from Helm's
documentation (helm.sh/docs/topics/charts: "Chart dependencies", "Scope, dependencies and values",
"Schema files").
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelinegen.chart.schema import SchemaError, referenced_files
from pipelinegen.errors import SpecError
from pipelinegen.spec.repository import Repository
from pipelinegen.spec.types import escapes
from pipelinegen.spec.yaml import Document, parse

MAX_DEPTH = 16  # subchart nesting; deeper (or a cycle of file:// dependencies) is an error
# Chart folders read for one chart tree (each once, however many dependencies name it), and
# subchart instances in the tree (Helm renders one per dependency entry, aliases included:
# three aliases of a chart that has three aliases of another make nine): beyond either, the
# tree is refused before any check walks it, so reading and checking stay linear in its files.
MAX_CHARTS = 256
MAX_INSTANCES = 1000
Source = Literal["file", "remote", "vendored", "packaged"]


class ChartError(Exception):
    """The chart cannot be read as Helm would read it; the message says what and where."""


@dataclass(frozen=True)
class Dependency:
    """One entry of Chart.yaml's (or requirements.yaml's) `dependencies`."""

    name: str
    version: str
    repository: str
    alias: str | None
    condition: str | None

    @property
    def key(self) -> str:
        """Where the subchart's values live in the parent's values."""
        return self.alias or self.name

    @property
    def source(self) -> Source:
        if self.repository.startswith("file://"):
            return "file"
        return "remote" if self.repository else "vendored"


@dataclass
class Chart:
    """A chart read from `path` (repository-relative); `subcharts` by values key, None when the
    subchart is known by name only (remote or packaged)."""

    path: str
    name: str
    api_version: str
    values: dict[str, Any]
    schema: dict[str, Any] | None
    dependencies: list[Dependency]
    lock: dict[str, Any] | None
    subcharts: dict[str, Chart | None] = field(default_factory=dict)
    # The chart's JSON files its schema reaches by `$ref` (pipelinegen.chart.schema), by path.
    schema_files: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # read, but maybe not as the author meant

    @property
    def lock_file(self) -> str:
        return "requirements.lock" if self.api_version == "v1" else "Chart.lock"

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Chart]]:
        """(values prefix, chart) for this chart and every subchart read."""
        yield prefix, self
        for key, sub in self.subcharts.items():
            if sub is not None:
                yield from sub.walk(f"{prefix}{key}.")


def read_chart(repository: Repository, path: str) -> Chart:
    """The chart at `path` with its subcharts, each chart folder read once; ChartError when
    Helm could not read it, or when the tree is larger than MAX_CHARTS folders or
    MAX_INSTANCES subchart instances."""
    chart = _Reader(repository).read(path, 0)
    count = _instances(chart, {})
    if count > MAX_INSTANCES:
        raise ChartError(
            f"'{path}' holds {count} subchart instances (Helm renders one per dependency "
            f"entry and alias, at every level); pipelinegen checks at most {MAX_INSTANCES}"
        )
    return chart


def _instances(chart: Chart, memo: dict[int, int]) -> int:
    """The number of chart instances in the tree under `chart`, counted once per folder."""
    if id(chart) not in memo:
        memo[id(chart)] = 1 + sum(
            _instances(sub, memo) for sub in chart.subcharts.values() if sub is not None
        )
    return memo[id(chart)]


class _Reader:
    """Reads a chart tree: each folder once (by its normalised repository path), a cycle of
    `file://` dependencies refused where it closes."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.charts: dict[str, Chart] = {}
        self.reading: set[str] = set()

    def read(self, path: str, depth: int) -> Chart:
        path = posixpath.normpath(path)
        if path in self.charts:
            return self.charts[path]
        if depth > MAX_DEPTH or path in self.reading:
            raise ChartError(f"subcharts nest more than {MAX_DEPTH} deep at '{path}' (a cycle?)")
        if len(self.charts) + len(self.reading) >= MAX_CHARTS:
            raise ChartError(
                f"the chart tree reads more than {MAX_CHARTS} chart folders (at '{path}')"
            )
        self.reading.add(path)
        chart = _read_one(self.repository, path)
        chart.subcharts = _subcharts(self, chart, depth)
        self.reading.discard(path)
        self.charts[path] = chart
        return chart


def _read_one(repository: Repository, path: str) -> Chart:
    """One chart folder without its subcharts."""
    meta = _yaml_mapping(repository, f"{path}/Chart.yaml", required=True)
    warnings: list[str] = []
    api_version = str(meta.get("apiVersion", ""))
    if api_version not in ("v1", "v2"):
        raise ChartError(f"'{path}/Chart.yaml' has apiVersion {api_version!r}; Helm reads v1 or v2")
    listing = (
        meta if api_version == "v2" else _yaml_mapping(repository, f"{path}/requirements.yaml")
    )
    lock_name = "Chart.lock" if api_version == "v2" else "requirements.lock"
    schema_path = f"{path}/values.schema.json"
    schema = _schema(repository, schema_path)
    try:
        files = referenced_files(repository, path, schema_path, schema) if schema else {}
    except SchemaError as error:
        raise ChartError(str(error)) from None
    return Chart(
        path=path,
        name=str(meta.get("name", "")),
        api_version=api_version,
        values=_yaml_mapping(repository, f"{path}/values.yaml", warnings=warnings),
        schema=schema,
        dependencies=_dependencies(
            listing, f"{path}/{'Chart' if api_version == 'v2' else 'requirements'}.yaml"
        ),
        lock=_yaml_mapping(repository, f"{path}/{lock_name}") or None,
        schema_files=files,
        warnings=warnings,
    )


def _subcharts(reader: _Reader, chart: Chart, depth: int) -> dict[str, Chart | None]:
    repository = reader.repository
    found: dict[str, Chart | None] = {}
    vendored = _vendored(repository, chart.path)
    for dependency in chart.dependencies:
        if dependency.source == "file":
            target = dependency_path(chart.path, dependency)
            if escapes(target):
                raise ChartError(
                    f"dependency '{dependency.name}' of '{chart.path}' ({dependency.repository}) "
                    "is outside the repository"
                )
            if repository.kind(f"{target}/Chart.yaml") != "file":
                raise ChartError(
                    f"dependency '{dependency.name}' of '{chart.path}' ({dependency.repository}): "
                    f"'{target}' is not a chart folder"
                )
            found[dependency.key] = reader.read(target, depth + 1)
        elif dependency.name in vendored:
            folder = vendored[dependency.name]
            found[dependency.key] = reader.read(folder, depth + 1) if folder else None
        else:
            found[dependency.key] = None  # remote: known by name until the release packages it
    listed = {dependency.name for dependency in chart.dependencies}
    for name, folder in vendored.items():
        if name not in listed:  # a subchart in charts/ without a dependencies entry
            found[name] = reader.read(folder, depth + 1) if folder else None
    return found


def dependency_path(chart: str, dependency: Dependency) -> str:
    """The repository path a `file://` dependency names (relative to the chart's folder)."""
    return posixpath.normpath(posixpath.join(chart, dependency.repository[len("file://") :]))


def _vendored(repository: Repository, chart: str) -> dict[str, str | None]:
    """Subcharts in charts/: name → folder, or None for a packaged `<name>-<version>.tgz`."""
    folder = f"{chart}/charts"
    if repository.kind(folder) != "directory":
        return {}
    found: dict[str, str | None] = {}
    for entry in repository.entries(folder):
        path = f"{folder}/{entry}"
        if entry.endswith(".tgz") and repository.kind(path) == "file":
            found.setdefault(entry[: -len(".tgz")].rsplit("-", 1)[0], None)
        elif repository.kind(f"{path}/Chart.yaml") == "file":
            name = _yaml_mapping(repository, f"{path}/Chart.yaml").get("name", entry)
            found[str(name)] = path
    return found


def _dependencies(meta: dict[str, Any], file: str) -> list[Dependency]:
    listed = meta.get("dependencies") or []
    if not isinstance(listed, list):
        raise ChartError(f"'{file}': dependencies is not a list")
    found = []
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ChartError(f"'{file}': a dependency without a name: {entry!r}")
        alias, condition = entry.get("alias"), entry.get("condition")
        found.append(
            Dependency(
                name=entry["name"],
                version=str(entry.get("version") or ""),
                repository=str(entry.get("repository") or ""),
                alias=alias if isinstance(alias, str) and alias else None,
                condition=condition if isinstance(condition, str) and condition else None,
            )
        )
    return found


def _yaml_mapping(
    repository: Repository,
    path: str,
    *,
    required: bool = False,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    if repository.kind(path) != "file":
        if required:
            raise ChartError(f"'{path}' does not exist")
        return {}
    try:
        document = parse(repository.read_text(path), path, last_key_wins=True)
    except (OSError, UnicodeDecodeError) as error:
        raise ChartError(f"cannot read '{path}': {error}") from None
    except SpecError as error:
        first = error.diagnostics[0]
        raise ChartError(f"'{path}' line {first.line}: {first.message}") from None
    if warnings is not None:
        warnings.extend(_replaced(document, path))
    data = document.data
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ChartError(f"'{path}' is not a mapping of keys")
    return data


def _replaced(document: Document, path: str) -> Iterator[str]:
    """A warning for each key written twice with different values. Helm reads chart YAML with
    sigs.k8s.io/yaml, whose go-yaml decoder keeps the last of a duplicated key, the whole value
    replaced, not merged (tried with helm v4.1.4); equal copies change nothing and are quiet."""
    for keys, line, first in document.replaced:
        used = json.dumps(_at(document.data, keys), sort_keys=True, default=str)
        used = used if len(used) <= 80 else used[:77] + "..."
        dotted = ".".join(str(key) for key in keys)
        yield (
            f"'{path}' line {line}: key '{dotted}' is written twice with different values "
            f"(first on line {first}); Helm uses the last one: {used}"
        )


def _at(data: Any, keys: tuple[str | int, ...]) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _schema(repository: Repository, path: str) -> dict[str, Any] | None:
    if repository.kind(path) != "file":
        return None
    try:
        schema = json.loads(repository.read_text(path))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ChartError(f"cannot read '{path}': {error}") from None
    if not isinstance(schema, dict):
        raise ChartError(f"'{path}' is not a JSON object")
    return schema

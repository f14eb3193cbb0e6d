"""What a change does to each cluster: the chart rendered at both revisions, per environment.

Each side's chart is copied out of its revision with what Helm needs to render it offline: the
chart folder, its `file://` dependencies placed in `charts/` (as `helm dependency build` would),
its vendored subcharts and archives, and the environment's values files. Nothing is fetched: a
remote dependency that is not vendored makes the render fail, and the report says so. The render
is `helm template` with the environment's release name, namespace and values files, then the
image values the deploy passes last (image_values.py with placeholder digests, the same on both
sides, so an image changes only when the chart or its mapping does).

The objects of both renders are compared by (apiVersion group, kind, namespace, name): added,
removed, and changed in what a reviewer weighs: the images of every pod, RBAC rules, replicas,
resources, and any other field. `render_environment` is the one place a chart is rendered
here: a function of a folder and an environment, returning objects.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelinegen import naming
from pipelinegen.chart.read import Chart, ChartError, dependency_path, read_chart
from pipelinegen.diff.git import GitTree
from pipelinegen.spec.models import Environment, Spec
from pipelinegen.spec.repository import Repository, WorkingTree

MAX_FILES = 5_000  # files copied for one chart; a bigger checkout is reported, not rendered
MAX_BYTES = 64 * 1024 * 1024
RENDER_TIMEOUT = 120  # seconds for one `helm template`
RBAC_KINDS = frozenset({"Role", "ClusterRole"})
POD_FIELDS = ("initContainers", "containers", "ephemeralContainers")


@functools.cache
def cluster_kinds() -> frozenset[str]:
    """Kubernetes' cluster-scoped kinds: the chart check's own table (templates/cdk/scripts/
    chart_check.py), so the review and the check never disagree about what is cluster-wide."""
    from pipelinegen.chart.render import shipped  # imports the shipped check from the templates

    kinds: frozenset[str] = shipped("chart_check").CLUSTER_KINDS
    return kinds


class RenderError(Exception):
    """The chart could not be rendered; the message says why, in Helm's words."""


@dataclass(frozen=True, order=True)
class Key:
    """Which object: what Kubernetes identifies it by."""

    kind: str
    name: str
    namespace: str
    group: str

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind}/{self.name}{where}"

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in cluster_kinds()


@dataclass(frozen=True)
class ObjectChange:
    """One object added, removed or changed in one environment; `fields` name what changed
    (`image`, `rbac`, `replicas`, `resources`, `spec`...) with before/after text."""

    environment: str
    key: Key
    status: str  # "added", "removed", "changed"
    fields: tuple[tuple[str, str, str], ...] = ()
    rules_added: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartDiff:
    """Every environment's object changes, and what could not be rendered (per side)."""

    changes: tuple[ObjectChange, ...] = ()
    unrendered: tuple[tuple[str, str, str], ...] = ()  # (environment, side label, why)
    compared: tuple[str, ...] = field(default=())  # environments compared


# --- rendering -----------------------------------------------------------------------------------


def render_environment(
    root: Path, spec: Spec, environment: Environment, *, helm: str, scripts: Path | None
) -> list[dict[str, Any]]:
    """The objects `helm template` renders from the chart copied under `root` (at
    `spec.helm.chart`) for `environment`, with the image values from `scripts` (a folder with
    the compiled image_values.py, its siblings and pipeline.json) passed last. RenderError when
    Helm refuses."""
    chart = root / spec.helm.chart
    values = [str(root / file) for file in environment.values]
    args = [helm, "template", naming.helm_release(spec), str(chart)]
    args += ["--namespace", environment.namespace]
    for file in values:
        args += ["-f", file]
    if scripts is not None:
        images = root / ".pipelinegen-images.values.json"
        command = [sys.executable, str(scripts / "image_values.py")]
        command += ["--pipeline", str(scripts / "pipeline.json"), "--placeholder"]
        command += ["--registry", naming.ecr_registry(spec), "--out", str(images)]
        command += ["--chart", str(chart), *(f"--values={file}" for file in values)]
        _run(command, env_path=Path(helm).parent)
        args += ["-f", str(images)]
    return objects(_run(args, env_path=Path(helm).parent))


def _run(args: list[str], *, env_path: Path) -> str:
    env = {**os.environ, "PATH": f"{env_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, check=False, env=env, timeout=RENDER_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RenderError(str(error)) from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise RenderError(lines[-1] if lines else f"exit {result.returncode}")
    return result.stdout


def objects(rendered: str) -> list[dict[str, Any]]:
    """The manifests' objects (each `List`'s items expanded, as Helm installs them)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    found: list[dict[str, Any]] = []
    try:
        documents = list(YAML(typ="safe").load_all(rendered))
    except YAMLError as error:
        raise RenderError(f"the rendered manifests are not YAML: {error}") from None
    pending = [d for d in documents if isinstance(d, dict)]
    while pending:
        document = pending.pop(0)
        items = document.get("items")
        if str(document.get("kind", "")).endswith("List") and isinstance(items, list):
            pending.extend(item for item in items if isinstance(item, dict))
        else:
            found.append(document)
    return found


# --- copying a revision's chart out --------------------------------------------------------------


def materialize(repository: Repository, spec: Spec, target: Path) -> None:
    """Copy the chart, its readable subcharts (`file://` ones into `charts/`) and every
    environment's values files from `repository` to `target`, by repository path. RenderError
    when the chart cannot be read or is too big to copy."""
    try:
        chart = read_chart(repository, spec.helm.chart)
    except ChartError as error:
        raise RenderError(str(error)) from None
    budget = [MAX_FILES, MAX_BYTES]
    _copy_chart(repository, chart, target / chart.path, budget)
    for file in sorted({v for e in spec.environments for v in e.values}):
        _copy_file(repository, file, target / file, budget)


def _copy_chart(repository: Repository, chart: Chart, target: Path, budget: list[int]) -> None:
    for path in _files(repository, chart.path):
        _copy_file(repository, path, target / path[len(chart.path) + 1 :], budget)
    for dependency in chart.dependencies:
        sub = chart.subcharts.get(dependency.key)
        if dependency.source == "file" and sub is not None:
            folder = dependency_path(chart.path, dependency).rsplit("/", 1)[-1]
            _copy_chart(repository, sub, target / "charts" / folder, budget)


def _files(repository: Repository, folder: str) -> Iterator[str]:
    pending = [folder]
    while pending:
        current = pending.pop()
        for entry in repository.entries(current):
            path = f"{current}/{entry}"
            kind = repository.kind(path)
            if kind == "directory":
                pending.append(path)
            elif kind == "file":
                yield path


def _copy_file(repository: Repository, path: str, target: Path, budget: list[int]) -> None:
    data = _read_bytes(repository, path)
    if data is None:
        return
    budget[0] -= 1
    budget[1] -= len(data)
    if budget[0] < 0 or budget[1] < 0:
        raise RenderError(f"the chart has more than {MAX_FILES} files or {MAX_BYTES} bytes")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _read_bytes(repository: Repository, path: str) -> bytes | None:
    """The file's bytes (archives included); None for a link or what cannot be read."""
    if isinstance(repository, GitTree):
        full = repository.prefix + path
        if full in repository.links:
            return None
        return repository.git.read_many(repository.commit, [full]).get(full)
    if isinstance(repository, WorkingTree):
        if (repository.root / path).is_symlink() or repository.kind(path) != "file":
            return None
        try:
            return (repository.root / path).read_bytes()
        except OSError:
            return None
    return repository.read_text(path).encode("utf-8")


# --- comparing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideInput:
    """What one side renders from: its label, spec, repository and compiled files (for the
    image values script)."""

    label: str
    spec: Spec | None
    repository: Repository | None
    files: dict[str, str]


def chart_diff(base: SideInput, head: SideInput, *, helm: str) -> ChartDiff:
    """Every environment of the head spec, rendered at both sides with `helm` and compared;
    `unrendered` says which side of which environment Helm could not render, and why."""
    if head.spec is None:
        return ChartDiff()
    names = [environment.name for environment in head.spec.environments]
    changes: list[ObjectChange] = []
    unrendered: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="pipelinegen-chart-") as work:
        renders = {
            side.label: _renders(side, Path(work) / str(index), helm)
            for index, side in enumerate((base, head))
        }
        for name in names:
            before, after = renders[base.label].get(name), renders[head.label].get(name)
            for label, result in ((base.label, before), (head.label, after)):
                if isinstance(result, str):
                    unrendered.append((name, label, result))
            if isinstance(after, str) or isinstance(before, str):
                continue
            changes.extend(compare_objects(name, before or [], after or []))
    return ChartDiff(tuple(changes), tuple(unrendered), tuple(names))


def _renders(side: SideInput, root: Path, helm: str) -> dict[str, list[dict[str, Any]] | str]:
    """Each environment's objects, or why it could not be rendered; {} for a missing side."""
    spec, repository = side.spec, side.repository
    if spec is None or repository is None:
        return {}
    try:
        materialize(repository, spec, root / "tree")
    except RenderError as error:
        return {e.name: str(error) for e in spec.environments}
    scripts = root / "scripts"
    scripts.mkdir(parents=True)
    for name, text in side.files.items():
        if name.startswith(f"{naming.CDK_APP_DIR}/scripts/") and name.endswith(".py"):
            (scripts / Path(name).name).write_text(text, encoding="utf-8")
    pipeline = side.files.get(naming.CDK_SPEC)
    if pipeline is not None:
        (scripts / "pipeline.json").write_text(pipeline, encoding="utf-8")
    found: dict[str, list[dict[str, Any]] | str] = {}
    for environment in spec.environments:
        try:
            found[environment.name] = render_environment(
                root / "tree",
                spec,
                environment,
                helm=helm,
                scripts=scripts if pipeline is not None else None,
            )
        except RenderError as error:
            found[environment.name] = str(error)
    return found


def compare_objects(
    environment: str, before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> Iterator[ObjectChange]:
    """Added, removed and changed objects of one environment, in key order."""
    old, new = _by_key(before), _by_key(after)
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            yield ObjectChange(environment, key, "added", (), tuple(_rules(new[key])))
        elif key not in new:
            yield ObjectChange(environment, key, "removed")
        elif old[key] != new[key]:
            granted = [rule for rule in _rules(new[key]) if rule not in _rules(old[key])]
            fields = tuple(_fields(old[key], new[key]))
            yield ObjectChange(environment, key, "changed", fields, tuple(granted))


def _by_key(found: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    keyed: dict[Key, dict[str, Any]] = {}
    for item in found:
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        assert isinstance(metadata, dict)
        group = str(item.get("apiVersion", "")).rpartition("/")[0]
        kind = str(item.get("kind", ""))
        namespace = "" if kind in cluster_kinds() else str(metadata.get("namespace") or "")
        keyed[Key(kind, str(metadata.get("name", "")), namespace, group)] = item
    return keyed


def _rules(item: dict[str, Any]) -> list[str]:
    """An RBAC role's rules, one line each: `verbs on resources (apiGroups)`."""
    if item.get("kind") not in RBAC_KINDS or not isinstance(item.get("rules"), list):
        return []
    lines = []
    for rule in item["rules"]:
        if not isinstance(rule, dict):
            continue
        verbs = ",".join(map(str, rule.get("verbs") or []))
        targets = rule.get("resources") or rule.get("nonResourceURLs") or []
        groups = ",".join(f'"{g}"' if g == "" else str(g) for g in rule.get("apiGroups") or [])
        names = rule.get("resourceNames")
        named = f" named {','.join(map(str, names))}" if names else ""
        lines.append(f"{verbs} on {','.join(map(str, targets))}{named} ({groups or '-'})")
    return lines


def _fields(old: dict[str, Any], new: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """What changed, the fields a reviewer weighs first, then `other` for the rest."""
    weighed = 0
    for what, read in (
        ("images", _images),
        ("replicas", lambda o: _text(_spec(o).get("replicas"))),
        ("resources", _resources),
        ("rbac", lambda o: "; ".join(_rules(o))),
    ):
        before, after = read(old), read(new)
        if before != after:
            weighed += 1
            yield what, before, after
    if not weighed:
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        yield "other", "", ", ".join(changed)


def _spec(item: dict[str, Any]) -> dict[str, Any]:
    spec = item.get("spec")
    return spec if isinstance(spec, dict) else {}


def _pods(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every pod spec in the object: `spec` of a Pod, else any `template.spec` below (a
    CronJob's job template included)."""
    if item.get("kind") == "Pod":
        yield _spec(item)
        return
    pending: list[Any] = [item.get("spec")]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            template = node.get("template")
            if isinstance(template, dict) and isinstance(template.get("spec"), dict):
                yield template["spec"]
            pending.extend(v for k, v in node.items() if k != "template")
        elif isinstance(node, list):
            pending.extend(node)


def _containers(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for pod in _pods(item):
        for field_name in POD_FIELDS:
            for container in pod.get(field_name) or []:
                if isinstance(container, dict):
                    yield container


def _images(item: dict[str, Any]) -> str:
    return ", ".join(f"{c.get('name')}={c.get('image')}" for c in _containers(item))


def _resources(item: dict[str, Any]) -> str:
    return ", ".join(
        f"{c.get('name')}={json.dumps(c.get('resources'), sort_keys=True)}"
        for c in _containers(item)
        if c.get("resources")
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def which_helm() -> str | None:
    """The helm on PATH (the PR workflow puts the pinned one there)."""
    return shutil.which("helm")

"""`validate`'s render of the chart: the one chart check, run on the working tree.

The check itself is the shipped, standard-library module `templates/cdk/scripts/chart_check.py`,
imported from the package's template files, so `validate`, the CI `chart` job, the deploy and the
Marketplace packaging run the same code. Here it renders each environment of the spec with the
`helm` on PATH — when it is the pinned major (Helm 4); otherwise this says so once and renders
nothing — and its refusals become diagnostics at the environment's spec line (a spec image's at
its `values`).

The shipped check also validates every rendered object of Kubernetes' own API groups against the
environment's Kubernetes version's published OpenAPI schemas with `kubernetes-validate` (PyPI,
pinned in constraints.txt), when it is installed (`pipelinegen[kubernetes]`); when it is not,
validate says so once, as the check reports it unchecked.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelinegen.chart.read import Chart, ChartError, read_chart
from pipelinegen.errors import Diagnostic
from pipelinegen.resources import data_dir
from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import WorkingTree
from pipelinegen.spec.yaml import Document
from pipelinegen.spec.yaml import Path as DataPath

SCRIPTS = ("cdk", "scripts")
# The major of the Helm the deploy pins (pipelinegen.render.cdk.versions.HELM; a test keeps them
# equal): spelled here so a validate without helm loads no renderer.
HELM_MAJOR = "v4"
# The first render of a chart whose dependencies were never built: helm's words for it.
UNBUILT = re.compile(r"missing in charts/ directory|found in Chart\.yaml, but missing")


def shipped(name: str) -> ModuleType:
    """The shipped script `templates/cdk/scripts/<name>.py`, imported (its siblings, which it may
    import, are found beside it)."""
    folder = data_dir("templates").joinpath(*SCRIPTS)
    loaded = sys.modules.get(f"pipelinegen_shipped_{name}")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(
        f"pipelinegen_shipped_{name}", folder / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@dataclass
class Rendered:
    """What `validate`'s render found: diagnostics, and notes to say once (what was skipped)."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def helm_on_path() -> tuple[str | None, str]:
    """(helm's path, "") when the `helm` on PATH is the pinned major, else (None, why not)."""
    helm = shutil.which("helm")
    wanted = HELM_MAJOR
    if helm is None:
        return None, f"helm is not on PATH: the chart was not rendered (install Helm {wanted[1:]})"
    try:
        result = subprocess.run(
            [helm, "version", "--short"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"helm does not run ({error}): the chart was not rendered"
    version = result.stdout.strip()
    if result.returncode != 0 or not version.startswith(f"{wanted}."):
        return None, (
            f"helm on PATH is {version or 'unknown'}, not Helm {wanted[1:]} (the deploy's "
            "major): the chart was not rendered"
        )
    return helm, ""


def render_check(spec: Spec, document: Document, root: Path) -> Rendered:
    """Render the chart at `root` for every environment of `spec` and check each render."""
    result = Rendered()
    helm, why = helm_on_path()
    if helm is None:
        result.notes.append(why + "; the CI `chart` job renders it")
        return result
    from pipelinegen import naming
    from pipelinegen.render.cdk import resolved

    chart_check = shipped("chart_check")
    image_values = shipped("image_values")
    try:
        chart: Chart | None = read_chart(WorkingTree(root), spec.helm.chart)
    except ChartError:  # already reported by the spec's chart check
        chart = None
    pipeline = resolved(spec, "")
    registry = naming.ecr_registry(spec)
    digests = {name: image_values.placeholder_digest(name) for name in pipeline["helm"]["images"]}
    with tempfile.TemporaryDirectory(prefix="pipelinegen-render-") as folder:
        values_file = Path(folder) / "images.values.json"
        try:
            values = image_values.image_values(
                pipeline,
                registry=registry,
                version=image_values.PLACEHOLDER_VERSION,
                digests=digests,
            )
        except image_values.ValuesError as error:  # refused by the chart check of the spec
            result.notes.append(f"the image values cannot be written ({error}): not rendered")
            return result
        values_file.write_text(json.dumps(values), encoding="utf-8")
        for index, environment in enumerate(spec.environments):
            images = chart_check.images_from(pipeline, registry=registry)
            files = [str(root / path) for path in environment.values] + [str(values_file)]
            try:
                report = chart_check.check_environment(
                    pipeline,
                    environment.name,
                    chart=str(root / spec.helm.chart),
                    values=files,
                    images=images,
                    helm=helm,
                )
            except chart_check.CheckError as error:
                text = str(error)
                if UNBUILT.search(text):
                    result.notes.append(
                        f"the chart's dependencies are not built: run `helm dependency build "
                        f"{spec.helm.chart}` to render it here (the CI `chart` job builds them)"
                    )
                    return result
                result.diagnostics.append(
                    document.diagnostic(
                        ("environments", index),
                        f"environment '{environment.name}': the chart does not render: {text}",
                        "fix the chart or the environment's values files",
                    )
                )
                continue
            result.diagnostics.extend(_located(spec, document, index, report, chart))
            said = [*report.warnings, *(f"unchecked: {n}" for n in report.unchecked)]
            result.notes.extend(n for n in said if n not in result.notes)
    return result


def _located(
    spec: Spec, document: Document, index: int, report: Any, chart: Chart | None
) -> list[Diagnostic]:
    """The report's refusals, each at the spec line its fix is about; a third-party image's hint
    names the values paths the chart reads it from."""
    environment = spec.environments[index]
    declared = {image.name: position for position, image in enumerate(spec.third_party_images)}
    found: list[Diagnostic] = []
    for finding, labels in report.findings.items():
        fix = finding.fix
        named = declared.get(finding.image)
        mapped = named is not None and bool(spec.third_party_images[named].values)
        if finding.key == "third_party_images" and chart is not None and not mapped:
            # a mapped image's finding names its paths; the chart's defaults there are replaced
            paths = reads(
                chart, finding.image if named is None else spec.third_party_images[named].image
            )
            if paths:
                fix += f"; the chart reads it from {', '.join(paths)}"
        which = "" if len(labels) == len(report.renders) else f" (only {', '.join(labels)})"
        if finding.key == "images":
            position = next(i for i, image in enumerate(spec.images) if image.name == finding.image)
            path: DataPath = ("images", position, "values")
            message = f"{finding.subject}: {finding.message}{which}"
        elif finding.key == "third_party_images" and named is not None:
            path = ("third_party_images", named, "values" if mapped else "name")
            message = (
                f"environment '{environment.name}': {finding.subject}: {finding.message}{which}"
            )
        else:
            path = _environment_key(document, index, finding.key)
            message = (
                f"environment '{environment.name}': {finding.subject}: {finding.message}{which}"
            )
        found.append(document.diagnostic(path, message, fix))
    return found


def _strings(chart: Chart) -> Iterator[tuple[str, str]]:
    """(values path, string) of every string value of the chart and its subcharts."""
    for prefix, each in chart.walk():
        pending: list[tuple[str, Any]] = [
            (prefix + key, value) for key, value in each.values.items()
        ]
        while pending:
            path, value = pending.pop()
            if isinstance(value, dict):
                pending += [(f"{path}.{key}", item) for key, item in value.items()]
            elif isinstance(value, str):
                yield path, value


def reads(chart: Chart, reference: str) -> list[str]:
    """The values paths of the chart (and its subcharts) whose strings make `reference`: a value
    that is the whole reference or its repository (with or without the registry), and a sibling
    that is its tag."""
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)
    tag = ""
    if ":" in last[-1]:
        name, _, tag = name.rpartition(":")
    first, _, rest = name.partition("/")
    repositories = {name, reference} | (
        {rest} if rest and ("." in first or ":" in first) else set()
    )
    tags = {tag, f"{tag}@{digest}"} - {"", "@"}
    strings = dict(_strings(chart))
    found: list[str] = []
    for path, value in strings.items():
        if value in repositories:
            found.append(path)
            parent = path.rpartition(".")[0]
            found += [
                sibling
                for sibling, text in strings.items()
                if sibling.rpartition(".")[0] == parent and text in tags
            ]
    return found


def _environment_key(document: Document, index: int, key: str) -> DataPath:
    """The environment's own key for a fix (`access`, `api_versions`, `kubernetes_version`,
    `namespace`), when the spec has it; else the environment itself."""
    own = ("environments", index, key)
    return own if own in document.keys else ("environments", index)

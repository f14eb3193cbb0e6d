"""Check a validated spec against the chart it deploys, each problem at the spec line to fix.

What Helm would do with the image values is decided here, before any release: a mapped values
path the chart (or the subchart under that key) does not define; an image mapped nowhere while the
chart has image values that name it; values the chart's values.schema.json would reject (Helm
validates the merged values against every chart's schema before rendering); `file://`
dependencies that leave the repository or are missing; remote dependencies without a lock file,
or with one that does not list Chart.yaml's dependencies; and, for the AWS Marketplace Helm
delivery option, a chart name the Marketplace registry cannot hold, an image value left pointing
outside the seller's Marketplace repositories, and override parameters that are no chart values
or would let a buyer swap an image.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pipelinegen.chart.read import Chart, ChartError, read_chart
from pipelinegen.chart.values import GLOBAL_PREFIX, Target, global_targets, image_targets
from pipelinegen.errors import Diagnostic
from pipelinegen.spec.models import Image, ImageValues, Spec
from pipelinegen.spec.repository import Repository
from pipelinegen.spec.yaml import Document
from pipelinegen.spec.yaml import Path as DataPath

PLACEHOLDER = "placeholder"  # any string: the schema check looks at keys and types


def check(spec: Spec, document: Document, repository: Repository) -> list[Diagnostic]:
    """Every problem of the chart as the spec uses it."""
    try:
        chart = read_chart(repository, spec.helm.chart)
    except ChartError as error:
        hint = "fix the chart so that `helm dependency build` and `helm template` can read it"
        return [document.diagnostic(("helm", "chart"), str(error), hint)]
    found = [*_locks(chart, document)]
    for index, image in enumerate(spec.images):
        found.extend(_mapped_paths(chart, document, index, image))
        if not image_targets(image):
            found.extend(_unmapped(chart, document, index, image))
    found.extend(_schemas(chart, spec, document))
    found.extend(_marketplace(chart, spec, document))
    return found


# --- mapped paths ------------------------------------------------------------------------------


def _where(image: Image, index: int, path: str) -> DataPath:
    """The spec location of the mapping that names `path`."""
    if isinstance(image.values, str):
        return ("images", index, "values")
    for position, item in enumerate(image.values):
        if isinstance(item, str) and path.startswith(f"{item}."):
            return ("images", index, "values", position)
        if isinstance(item, ImageValues):
            for key, value in item.model_dump().items():
                if value == path:
                    return ("images", index, "values", position, key)
    return ("images", index, "values")


def _mapped_paths(
    chart: Chart, document: Document, index: int, image: Image
) -> Iterator[Diagnostic]:
    for target in image_targets(image):
        if defines(chart, target.path.split(".")):
            continue
        import difflib  # only a wrong path needs suggestions

        message = f"image '{image.name}': the chart defines no values path '{target.path}'"
        close = difflib.get_close_matches(target.path, sorted(leaves(chart)), n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(repr(c) for c in close)}?"
            if close
            else "name a path that the chart's (or the subchart's) values.yaml defines; "
            "subchart values go under the dependency's alias or name"
        )
        yield document.diagnostic(_where(image, index, target.path), message, hint)


def defines(chart: Chart, keys: list[str]) -> bool:
    """Whether the chart reads values at `keys`: its values.yaml defines them, or they belong
    to a subchart that does (or whose values cannot be read here: a remote one)."""
    if keys[0] == "global" or _has(chart.values, keys):
        return True
    if len(keys) > 1 and keys[0] in chart.subcharts:
        sub = chart.subcharts[keys[0]]
        return sub is None or defines(sub, keys[1:])
    return False


def _has(values: Any, keys: list[str]) -> bool:
    for key in keys:
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    return True


def leaves(chart: Chart) -> Iterator[str]:
    """Every values path the chart and its readable subcharts define, subcharts by key."""
    for prefix, each in chart.walk():
        yield from (prefix + path for path in _paths(each.values))


def _paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        yield f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _paths(value, f"{prefix}{key}.")


# --- images mapped nowhere -----------------------------------------------------------------------


def image_values(chart: Chart) -> Iterator[tuple[str, Any]]:
    """(path, value) of every `image`/`images` value in the chart and its subcharts."""
    for path in leaves(chart):
        if path.rsplit(".", 1)[-1] in ("image", "images"):
            yield path, _lookup(chart, path.split("."))


def _lookup(chart: Chart, keys: list[str]) -> Any:
    node: Any = chart.values
    if _has(node, keys):
        for key in keys:
            node = node[key]
        return node
    sub = chart.subcharts.get(keys[0])
    return _lookup(sub, keys[1:]) if sub is not None and len(keys) > 1 else None


def _unmapped(chart: Chart, document: Document, index: int, image: Image) -> Iterator[Diagnostic]:
    from pipelinegen.chart.mapping import reading, suggest, words  # the inference init uses

    naming = reading(chart, image.name)
    if naming:
        message = (
            f"image '{image.name}' is mapped to no values path, but the chart reads it at "
            f"{', '.join(repr(p) for p, _ in naming)}: the pods would keep the chart's default "
            "image"
        )
        mapping = suggest(chart, *naming[0])
        hint = (
            f"add `{words(mapping)}`"
            if mapping is not None
            else "add `values:` with a mapping: registry, repository, tag, digest"
        )
        yield document.diagnostic(("images", index, "name"), message, hint)


# --- values.schema.json ---------------------------------------------------------------------


def _schemas(chart: Chart, spec: Spec, document: Document) -> Iterator[Diagnostic]:
    injected: dict[str, Any] = {}
    located: list[tuple[str, DataPath]] = []
    for index, image in enumerate(spec.images):
        targets = image_targets(image)
        for target in targets:
            located.append((target.path, _where(image, index, target.path)))
        if spec.helm.global_values:
            targets = targets + global_targets(image.name)
        for target in targets:
            _put(injected, target)
    for prefix, each in chart.walk():
        if each.schema is None:
            continue
        keys = prefix.split(".")[:-1] if prefix else []
        scoped = _scoped(injected, keys)
        before = _errors(each.schema, each.values)
        after = _errors(each.schema, _merge(each.values, scoped))
        for path, message in sorted(set(after) - set(before)):
            where = _culprit(prefix + path, message, located)
            hint = (
                "map a path the schema allows"
                if where[0] == "images"
                else "set `helm.global_values: false`, or allow `global` in the chart's schema"
            )
            text = f"'{each.path}/values.schema.json' rejects the image values"
            yield document.diagnostic(where, f"{text} at '{path or '.'}': {message}", hint)


def _culprit(absolute: str, message: str, located: list[tuple[str, DataPath]]) -> DataPath:
    """The spec location of the mapped path a schema error is about; the global block's switch
    when no mapped path is (an error at a mapping's level names the unexpected key)."""
    for mapped, spot in located:
        inside = mapped.startswith(f"{absolute}.") if absolute else True
        child = mapped[len(absolute) + 1 :] if absolute else mapped
        if (mapped == absolute or inside) and (
            mapped == absolute or f"'{child.split('.', 1)[0]}'" in message
        ):
            return spot
    return ("helm", "global_values") if "global" in f"{absolute} {message}" else ("helm", "chart")


def _put(values: dict[str, Any], target: Target) -> None:
    keys = target.path.split(".")
    node = values
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return
        node = child
    node[keys[-1]] = PLACEHOLDER


def _scoped(injected: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The injected values a subchart at `keys` sees: its own, plus `global`."""
    node: Any = injected
    for key in keys:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    scoped = dict(node) if isinstance(node, dict) else {}
    if "global" in injected:
        scoped["global"] = injected["global"]
    return scoped


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = (
            _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def _errors(schema: dict[str, Any], values: dict[str, Any]) -> list[tuple[str, str]]:
    import jsonschema  # only charts with a schema need it

    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    validator = validator_class(schema)
    return [
        (".".join(str(part) for part in error.absolute_path), error.message)
        for error in validator.iter_errors(values)
    ]


# --- the AWS Marketplace Helm delivery option -----------------------------------------------------

# A Marketplace repository is `<seller_prefix>/<chart name>` (`helm push` names the repository
# after the chart), so the chart name must be an ECR repository name component (ECR
# CreateRepository: `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`).
ECR_COMPONENT = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
# The parts of an image value that say where the image comes from; a tag alone does not.
WHERE_FROM = ("registry", "repository", "reference", "image")


def _marketplace(chart: Chart, spec: Spec, document: Document) -> Iterator[Diagnostic]:
    """The chart AWS Marketplace ships must run only images in the seller's Marketplace
    repositories ("Container-based product requirements", AWS Marketplace Seller Guide; the
    change set fails with INVALID_CONTAINER_IMAGE_URI otherwise): every image value of the chart
    has to be one the spec maps, so that packaging rewrites it."""
    marketplace = spec.marketplace
    if marketplace is None or "helm" not in marketplace.delivery_options:
        return
    where: DataPath = (
        "marketplace",
        "delivery_options",
        marketplace.delivery_options.index("helm"),
    )
    if not ECR_COMPONENT.fullmatch(chart.name):
        message = (
            f"the chart is named '{chart.name}', which cannot name the Marketplace repository "
            f"'{marketplace.seller_prefix}/{chart.name}' the Helm delivery option is pushed to"
        )
        hint = "name the chart in lowercase letters and digits, joined by '.', '_' or '-'"
        yield document.diagnostic(("helm", "chart"), message, hint)
    mapped = {target.path for image in spec.images for target in image_targets(image)}
    for path, value in image_values(chart):
        left = [
            (leaf, text)
            for leaf, text in _origins(path, value)
            if leaf not in mapped and not any(leaf.startswith(f"{m}.") for m in mapped)
        ]
        if not left:
            continue
        paths = ", ".join(f"'{leaf}'" for leaf, _ in left)
        shown = "/".join(text for _, text in left)
        message = (
            f"the AWS Marketplace Helm chart would run '{shown}' (values {paths}), which is "
            "not in the seller's Marketplace repositories"
        )
        hint = (
            f"map '{path}' to one of the spec's images (`values:` of the image), or remove "
            "the image from the chart: a Marketplace chart runs only images from "
            f"{marketplace.seller_prefix}/<image> in the Marketplace registry"
        )
        yield document.diagnostic(where, message, hint)
    yield from _override_parameters(chart, spec, document, mapped)


def _origins(path: str, value: Any) -> Iterator[tuple[str, str]]:
    """(values path, text) of each part of an image value that names where the image comes
    from: the value itself when it is a string, else its registry/repository/reference leaves."""
    if isinstance(value, str) and value:
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict):
                yield from _origins(f"{path}.{key}", item)
            elif isinstance(item, str) and item and key in WHERE_FROM:
                yield f"{path}.{key}", item


# Override keys that name where images are pulled from, whatever the chart: Bitnami-style
# `global.imageRegistry` and `<x>.image.registry`, and the project's own global block
# (pipelinegen.chart.values.GLOBAL_PREFIX). A key with one of these segments is refused.
PULLED_FROM = frozenset({"image", "images", "imageRegistry", "registry"})
GLOBAL_BLOCK = GLOBAL_PREFIX.rsplit(".", 1)[0]  # global.pipelinegen


def _reaches_an_image(key: str, mapped: set[str], blocks: set[str]) -> str:
    """Why an override key could change an image a buyer runs, or "": it is a mapped path, an
    ancestor or descendant of one (the global block's included), a sibling inside a mapped
    image's block (`api.image.registry` beside `api.image.{repository,tag}`; `blocks` are the
    parents of mapped paths other than a full reference's), the project's global block, or a
    known registry key (PULLED_FROM)."""
    related = sorted(m for m in mapped if m == key or m.startswith(f"{key}."))
    if related or any(key.startswith(f"{m}.") for m in mapped):
        return f"it sets or contains the image value '{(related or [key])[0]}'"
    if (
        key == GLOBAL_BLOCK
        or key.startswith(f"{GLOBAL_BLOCK}.")
        or f"{GLOBAL_BLOCK}.".startswith(f"{key}.")
    ):
        return f"'{GLOBAL_BLOCK}' holds the images pipelinegen sets for every chart"
    inside = sorted(block for block in blocks if block and key.startswith(f"{block}."))
    if inside:
        return f"it is inside '{inside[0]}', the block a mapped image is read from"
    pulled = [segment for segment in key.split(".") if segment in PULLED_FROM]
    if pulled:
        return f"'{pulled[0]}' names where an image is pulled from"
    return ""


def _override_parameters(
    chart: Chart, spec: Spec, document: Document, mapped: set[str]
) -> Iterator[Diagnostic]:
    """Each override parameter is a values path the chart reads, and none can change an image
    (_reaches_an_image())."""
    assert spec.marketplace is not None
    reachable = set(mapped)
    if spec.helm.global_values:
        reachable |= {t.path for image in spec.images for t in global_targets(image.name)}
    blocks = {
        target.path.rpartition(".")[0]
        for image in spec.images
        for target in image_targets(image)
        if target.form != "reference"
    }
    for index, parameter in enumerate(spec.marketplace.helm.override_parameters):
        where: DataPath = ("marketplace", "helm", "override_parameters", index, "key")
        key = parameter.key
        why = _reaches_an_image(key, reachable, blocks)
        if why:
            message = (
                f"override parameter '{key}' would let a buyer change an image's values: {why}"
            )
            hint = (
                "a Marketplace chart must keep the images it was published with: offer a "
                "value that does not choose an image, its registry, repository, tag or digest"
            )
            yield document.diagnostic(where, message, hint)
        elif not defines(chart, key.split(".")):
            message = f"override parameter '{key}' is not a values path of the chart"
            hint = "name a path that the chart's (or a subchart's) values.yaml defines"
            yield document.diagnostic(where, message, hint)


# --- lock files ---------------------------------------------------------------------------------


def _locks(chart: Chart, document: Document) -> Iterator[Diagnostic]:
    """Remote dependencies are resolved at release time against the lock file; it must exist
    and list what Chart.yaml asks for (Helm refuses a lock out of sync with Chart.yaml)."""
    for _, each in chart.walk():
        remote = [d for d in each.dependencies if d.source == "remote"]
        for dependency in remote:
            if not dependency.repository.startswith(("https://", "http://", "oci://")):
                message = (
                    f"dependency '{dependency.name}' of '{each.path}' names repository "
                    f"'{dependency.repository}', which the release cannot resolve"
                )
                hint = "write the repository's URL (https:// or oci://), not a `helm repo add` name"
                yield document.diagnostic(("helm", "chart"), message, hint)
        if not remote:
            continue
        lock = each.lock
        if lock is None:
            message = f"'{each.path}' has remote dependencies but no {each.lock_file}"
            hint = f"run `helm dependency update {each.path}` and commit {each.lock_file}"
            yield document.diagnostic(("helm", "chart"), message, hint)
            continue
        locked = {
            (str(entry.get("name")), str(entry.get("repository") or ""))
            for entry in lock.get("dependencies") or []
            if isinstance(entry, dict)
        }
        wanted = {(d.name, d.repository) for d in each.dependencies}
        if locked != wanted:
            stale = sorted(f"{n} ({r or 'charts/'})" for n, r in wanted ^ locked)
            message = (
                f"'{each.path}/{each.lock_file}' is out of date with its dependencies: "
                f"{', '.join(stale)}"
            )
            hint = f"run `helm dependency update {each.path}` and commit {each.lock_file}"
            yield document.diagnostic(("helm", "chart"), message, hint)

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

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pipelinegen.chart import pins
from pipelinegen.chart.blocks import Block, Shape, blocks, coalesced
from pipelinegen.chart.paths import Definitions, Key, dotted, keys, leaves, lookup
from pipelinegen.chart.read import Chart, ChartError, read_chart
from pipelinegen.chart.schema import SchemaError, schema_errors
from pipelinegen.chart.values import GLOBAL_PREFIX, Target, global_targets, image_targets
from pipelinegen.errors import Diagnostic
from pipelinegen.spec.models import Image, ImageValues, Spec, ThirdPartyImage
from pipelinegen.spec.repository import Repository
from pipelinegen.spec.yaml import Document
from pipelinegen.spec.yaml import Path as DataPath

PLACEHOLDER = "placeholder"  # any string: the schema check looks at keys and types


def check(
    spec: Spec,
    document: Document,
    repository: Repository,
    *,
    warnings: list[Diagnostic] | None = None,
) -> list[Diagnostic]:
    """Every problem of the chart as the spec uses it; what Helm reads but the author may not
    have meant (a key written twice with different values) goes to `warnings`."""
    try:
        chart = read_chart(repository, spec.helm.chart)
    except ChartError as error:
        hint = "fix the chart so that `helm dependency build` and `helm template` can read it"
        return [document.diagnostic(("helm", "chart"), str(error), hint)]
    if warnings is not None:
        hint = "write the key once, with the value you mean"
        for _, each in chart.walk():
            warnings.extend(document.diagnostic(("helm", "chart"), w, hint) for w in each.warnings)
    definitions = Definitions(chart, repository)
    found = [*_locks(chart, document), *pins.check(chart, document, repository)]
    found.extend(_shared_paths(spec, document))
    for located in _mapped_images(spec):
        found.extend(_mapped_paths(chart, definitions, document, located))
    for index, image in enumerate(spec.images):
        if not image_targets(image):
            found.extend(_unmapped(chart, document, index, image))
    found.extend(_left_upstream(chart, spec, document))
    found.extend(_registry_left(chart, spec, document))
    found.extend(_schemas(chart, spec, document))
    found.extend(_marketplace(chart, definitions, spec, document))
    return found


# --- mapped paths ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """An image whose `values` the chart reads, with its place in the spec: `images[index]`, or
    `third_party_images[index]` (the release's copy of it, pinned by the declared digest)."""

    key: str
    index: int
    image: Image | ThirdPartyImage

    @property
    def label(self) -> str:
        """How messages name it: `image 'api'`, `third-party image 'rabbitmq'`."""
        kind = "third-party image" if self.key == "third_party_images" else "image"
        return f"{kind} '{self.image.name}'"


def _all_paths(spec: Spec) -> set[str]:
    """Every values path the spec maps, of its images and of the third-party ones."""
    return {target.path for each in _mapped_images(spec) for target in image_targets(each.image)}


def _mapped_images(spec: Spec) -> list[Located]:
    """The spec's images, then the declared third-party ones: the same checks apply to both."""
    return [Located("images", i, image) for i, image in enumerate(spec.images)] + [
        Located("third_party_images", i, image) for i, image in enumerate(spec.third_party_images)
    ]


def _where(located: Located, path: str) -> DataPath:
    """The spec location of the mapping that names `path`."""
    values = located.image.values
    top: DataPath = (located.key, located.index, "values")
    if isinstance(values, str):
        return top
    for position, item in enumerate(values):
        if isinstance(item, str) and path.startswith(f"{item}."):
            return (*top, position)
        if isinstance(item, ImageValues):
            for key, value in item.model_dump().items():
                if value == path:
                    return (*top, position, key)
    return top


def _mapped_paths(
    chart: Chart, definitions: Definitions, document: Document, located: Located
) -> Iterator[Diagnostic]:
    for target in image_targets(located.image):
        found = keys(target.path)
        where = _where(located, target.path)
        if not definitions.defines(found):
            import difflib  # only a wrong path needs suggestions

            message = f"{located.label}: the chart defines no values path '{target.path}'"
            known = sorted(set(leaves(chart)) | {block.path for block in blocks(chart)})
            close = difflib.get_close_matches(target.path, known, n=3, cutoff=0.6)
            hint = (
                f"did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else "name a path that the chart's (or the subchart's) values.yaml, "
                "values.schema.json or templates define; subchart values go under the "
                "dependency's alias or name"
            )
            yield document.diagnostic(where, message, hint)
        elif any(isinstance(key, int) for key in found):
            yield from _list_element(chart, document, where, target.path, found)


def _list_element(
    chart: Chart, document: Document, where: DataPath, path: str, found: list[Key]
) -> Iterator[Diagnostic]:
    """A mapped list element must be one values.yaml writes: the deploy sets that element of
    the list Helm would use (Helm replaces lists whole, and pads a shorter list with nulls)."""
    for position, key in enumerate(found):
        if not isinstance(key, int):
            continue
        held, value = _chart_value(chart, found[:position])
        if held and isinstance(value, list) and key < len(value):
            continue
        length = f"a list of {len(value)}" if held and isinstance(value, list) else "no list"
        parent = dotted(found[:position])
        message = (
            f"values path '{path}' names element {key} of '{parent}', where the chart's "
            f"values.yaml has {length}"
        )
        hint = "map an element the chart's values.yaml (or the subchart's) writes"
        yield document.diagnostic(where, message, hint)
        return


def _chart_value(chart: Chart, found: list[Key]) -> tuple[bool, Any]:
    """The value values.yaml of the chart, else of the subchart under the first key, holds."""
    held, value = lookup(chart.values, found)
    if held:
        return held, value
    first = found[0] if found else None
    sub = chart.subcharts.get(first) if isinstance(first, str) else None
    return _chart_value(sub, found[1:]) if sub is not None and len(found) > 1 else (False, None)


def defines(chart: Chart, found: list[str]) -> bool:
    """Whether values.yaml of the chart (or of the subchart under the first key) defines the
    path; see pipelinegen.chart.paths.Definitions for every source a chart defines paths by."""
    return found[0] == "global" or _chart_value(chart, list(found))[0]


# --- paths set by more than one image -----------------------------------------------------------

# Forms whose value is the same for every image: several images may share their path.
SHARED_FORMS = frozenset({"registry", "prefix", "version"})


def _shared_paths(spec: Spec, document: Document) -> Iterator[Diagnostic]:
    """A values path holds one value: two images (or two forms) setting it differently would
    leave one image running the other's tag or digest (image_values.py refuses it at deploy)."""
    setters: dict[str, list[tuple[Located, Target]]] = {}
    for located in _mapped_images(spec):
        for target in image_targets(located.image):
            setters.setdefault(target.path, []).append((located, target))
    paths = sorted(setters)
    for path in paths:
        listed = setters[path]
        forms = {target.form for _, target in listed}
        names = sorted({located.image.name for located, _ in listed})
        if len(forms) == 1 and (len(names) == 1 or forms <= SHARED_FORMS):
            continue
        located, target = listed[-1]
        shared = ", ".join(f"'{name}'" for name in names)
        message = (
            f"values path '{path}' is set by images {shared} as {_forms(forms)}: one path "
            "holds one value, so all but one image would run another's tag or digest"
        )
        hint = (
            "give each image its own tag path; or, for a chart with one tag for every image, "
            f"map `tag: {path}` beside a `digest` path per image: the tag then receives the "
            "release version, the same for every image, and each image is pinned by its digest"
            if target.form == "tag"
            else "give each image its own values path"
        )
        if len(names) == 1:
            message = f"{located.label} sets values path '{path}' twice, as {_forms(forms)}"
            hint = "map the path once"
        yield document.diagnostic(_where(located, path), message, hint)
    for path in paths:
        inner = next((other for other in paths if other.startswith((f"{path}.", f"{path}["))), None)
        if inner is not None:
            located, _ = setters[inner][0]
            message = f"values path '{inner}' is inside '{path}', which another mapping sets whole"
            hint = "map either the block or the values inside it, not both"
            yield document.diagnostic(_where(located, inner), message, hint)


def _forms(forms: Iterable[str]) -> str:
    return " and ".join(f"`{form}`" for form in sorted(forms))


# --- images mapped nowhere -----------------------------------------------------------------------


def image_values(chart: Chart) -> Iterator[tuple[str, Any]]:
    """(path, value) of every `image`/`images` value in the chart and its subcharts."""
    for path in leaves(chart):
        last = keys(path)[-1]
        if last in ("image", "images"):
            yield path, _chart_value(chart, keys(path))[1]


def _unmapped(chart: Chart, document: Document, index: int, image: Image) -> Iterator[Diagnostic]:
    naming = [block for block in blocks(chart) if block.names(image.name)]
    if naming:
        message = (
            f"image '{image.name}' is mapped to no values path, but the chart reads it at "
            f"{_paths_of(naming)}: the pods would keep the chart's default image"
        )
        hint = f"add `values: {_mappings(naming)}` ({SHAPES})"
        yield document.diagnostic(("images", index, "name"), message, hint)


def _left_upstream(chart: Chart, spec: Spec, document: Document) -> Iterator[Diagnostic]:
    """An image block no spec image maps, holding a mapped image's upstream repository (the
    default of a block the spec maps for it) or named after it: its pods would run the upstream
    image, never the one released (external-secrets' `webhook.image` and `certController.image`
    beside `image`). An error, not a warning: the release would report success while those pods
    run an image nobody built or scanned, the failure this check exists to stop."""
    found = blocks(chart)
    mapped = _all_paths(spec)

    def is_mapped(block: Block) -> bool:
        inside = (f"{block.path}.", f"{block.path}[")
        return any(p == block.path or p.startswith(inside) for p in mapped)

    for located in _mapped_images(spec):
        image = located.image
        own = [target.path for target in image_targets(image)]
        if not own:
            continue
        upstream = {
            block.repository
            for block in found
            if block.repository
            and any(p == block.path or p.startswith(f"{block.path}.") for p in own)
        }
        left = [
            block
            for block in found
            if not is_mapped(block)
            and (block.repository in upstream or block.names(image.name, by_path=False))
        ]
        if left:
            message = (
                f"{located.label} is mapped, but the chart also reads it at "
                f"{_paths_of(left)}, which no image maps: those pods would run the chart's "
                "default image, not the one released"
            )
            hint = f"add {_mappings(left)} to the image's `values` list ({SHAPES})"
            yield document.diagnostic((located.key, located.index, "values"), message, hint)


def _paths_of(found: list[Block]) -> str:
    return ", ".join(
        f"'{block.path}'" + (f" ({block.repository})" if block.repository else "")
        for block in found
    )


def _registry_left(chart: Chart, spec: Spec, document: Document) -> Iterator[Diagnostic]:
    """A whole repository (`<registry>/<name>/<image>`) mapped into a block whose `registry` the
    chart puts before it (Bitnami's `common.images.image`) renders `docker.io/<ECR host>/...`."""
    values = coalesced(chart)
    mapped = _all_paths(spec)
    for located in _mapped_images(spec):
        for target in image_targets(located.image):
            block, _, last = target.path.rpartition(".")
            if target.form != "repository" or last != "repository" or not block:
                continue
            held, registry = lookup(values, keys(f"{block}.registry"))
            if not held or not isinstance(registry, str) or not registry:
                continue
            if f"{block}.registry" in mapped:
                continue
            message = (
                f"{located.label}: '{target.path}' receives the whole repository, but the "
                f"chart puts '{block}.registry' ({registry}) before it"
            )
            _, held_block = lookup(values, keys(block))
            digest = isinstance(held_block, dict) and "digest" in held_block
            shape: Shape = "bitnami" if digest else "registry"
            split = Block(block, shape, "").mapping()
            hint = f"map the Bitnami split: {split} (the registry, then `<name>/<image>`)"
            yield document.diagnostic(_where(located, target.path), message, hint)


SHAPES = (
    "a block with `registry` or `digest` takes the Bitnami split of its keys, `repository` + "
    "`tag` the short form, a single string `reference`"
)


def _mappings(found: list[Block]) -> str:
    """The spec's `values` for the blocks, each in its shape: one mapping, or a list."""
    listed = [block.mapping() for block in found]
    return listed[0] if len(listed) == 1 else f"[{', '.join(listed)}]"


# --- values.schema.json ---------------------------------------------------------------------


def _schemas(chart: Chart, spec: Spec, document: Document) -> Iterator[Diagnostic]:
    injected: list[list[Key]] = []
    located: list[tuple[str, DataPath]] = []
    for each_image in _mapped_images(spec):
        targets = image_targets(each_image.image)
        for target in targets:
            located.append((target.path, _where(each_image, target.path)))
        if spec.helm.global_values and each_image.key == "images":
            targets = targets + global_targets(each_image.image.name)
        injected.extend(keys(target.path) for target in targets)
    for prefix, each in chart.walk():
        if each.schema is None:
            continue
        head = keys(prefix[:-1]) if prefix else []
        after = copy.deepcopy(each.values)
        for found in injected:
            if found[0] == "global":
                _set(after, found)
            elif found[: len(head)] == head and len(found) > len(head):
                _set(after, found[len(head) :])
        try:
            before = _errors(each, each.values)
            errors = _errors(each, after)
        except SchemaError as error:
            hint = "refer only to the chart's own files, at a fragment that exists"
            yield document.diagnostic(("helm", "chart"), str(error), hint)
            continue
        for path, message in sorted(set(errors) - set(before)):
            where = _culprit(prefix + path, message, located)
            hint = (
                "map a path the schema allows"
                if where[0] in ("images", "third_party_images")
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


def _set(values: dict[str, Any], found: list[Key]) -> None:
    """Set the path to the placeholder as the deploy would: mappings are created, a list
    element is set only where the list has it (a missing one is reported by _list_element)."""
    node: Any = values
    for position, key in enumerate(found):
        last = position == len(found) - 1
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return
            if last:
                node[key] = PLACEHOLDER
            elif not isinstance(node[key], dict | list):
                node[key] = {} if isinstance(found[position + 1], str) else []
        elif not isinstance(node, dict):
            return
        elif last:
            node[key] = PLACEHOLDER
        elif not isinstance(node.get(key), dict | list):
            node[key] = {}
        if not last:
            node = node[key]


def _errors(chart: Chart, values: dict[str, Any]) -> list[tuple[str, str]]:
    """The chart's schema errors for `values`, `$ref`s resolved inside the chart only."""
    assert chart.schema is not None
    schema_path = f"{chart.path}/values.schema.json"
    return schema_errors(chart.schema, schema_path, chart.schema_files, values)


# --- the AWS Marketplace Helm delivery option -----------------------------------------------------

# A Marketplace repository is `<seller_prefix>/<chart name>` (`helm push` names the repository
# after the chart), so the chart name must be an ECR repository name component (ECR
# CreateRepository: `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`).
ECR_COMPONENT = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
# The parts of an image value that say where the image comes from; a tag alone does not.
WHERE_FROM = ("registry", "repository", "reference", "image")


def _marketplace(
    chart: Chart, definitions: Definitions, spec: Spec, document: Document
) -> Iterator[Diagnostic]:
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
    mapped = _all_paths(spec)
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
            f"map '{path}' to one of the spec's images or declared third-party images "
            "(`values:` of the image), or remove "
            "the image from the chart: a Marketplace chart runs only images from "
            f"{marketplace.seller_prefix}/<image> in the Marketplace registry"
        )
        yield document.diagnostic(where, message, hint)
    yield from _override_parameters(definitions, spec, document, mapped)


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
    definitions: Definitions, spec: Spec, document: Document, mapped: set[str]
) -> Iterator[Diagnostic]:
    """Each override parameter is a values path the chart reads, and none can change an image
    (_reaches_an_image())."""
    assert spec.marketplace is not None
    reachable = set(mapped)
    if spec.helm.global_values:
        reachable |= {t.path for image in spec.images for t in global_targets(image.name)}
    blocks = {
        target.path.rpartition(".")[0]
        for each in _mapped_images(spec)
        for target in image_targets(each.image)
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
        elif not definitions.defines(key):
            message = f"override parameter '{key}' is not a values path of the chart"
            hint = "name a path that the chart's (or a subchart's) values.yaml defines"
            yield document.diagnostic(where, message, hint)


# --- lock files ---------------------------------------------------------------------------------

# Where a remote dependency may come from: TLS or an OCI registry (Helm also takes http://,
# which no one can vouch for).
REPOSITORY_SCHEMES = ("https://", "oci://")


def _locks(chart: Chart, document: Document) -> Iterator[Diagnostic]:
    """Remote dependencies are resolved at release time against the lock file; it must exist
    and list what Chart.yaml asks for (Helm refuses a lock out of sync with Chart.yaml)."""
    for _, each in chart.walk():
        remote = [d for d in each.dependencies if d.source == "remote"]
        for dependency in remote:
            if not dependency.repository.startswith(REPOSITORY_SCHEMES):
                message = (
                    f"dependency '{dependency.name}' of '{each.path}' names repository "
                    f"'{dependency.repository}', which the release cannot resolve"
                )
                hint = "write the repository's URL (https:// or oci://), not a `helm repo add` name"
                if dependency.repository.startswith("http://"):
                    message = (
                        f"dependency '{dependency.name}' of '{each.path}' comes from "
                        f"'{dependency.repository}' over plain HTTP: anyone on the path can "
                        "swap the chart the release packages"
                    )
                    hint = "use the repository's https:// (or oci://) address"
                yield document.diagnostic(("helm", "chart"), message, hint)
        if not remote:
            continue
        lock = each.lock
        if lock is None:
            message = f"'{each.path}' has remote dependencies but no {each.lock_file}"
            hint = f"run `helm dependency update {each.path}` and commit {each.lock_file}"
            vendored = [d.name for d in remote if each.subcharts.get(d.key) is not None]
            if vendored:
                hint = (
                    f"{', '.join(vendored)} {'is' if len(vendored) == 1 else 'are'} vendored in "
                    f"'{each.path}/charts/': set `repository: \"\"` on "
                    f"{'its dependency' if len(vendored) == 1 else 'their dependencies'} in "
                    f"Chart.yaml (Helm then uses the folder as it is, with nothing fetched), or "
                    + hint
                )
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

"""The image blocks a chart reads, wherever they sit, and the `values:` mapping each one needs.

Real charts name images in three shapes (read from bitnami/charts, external-secrets,
cert-manager and argo-cd):

- split: `repository` + `tag` (cert-manager's `webhook.image`, external-secrets'
  `certController.image`), mapped `values: P`;
- bitnami: `registry` + `repository` + `tag` + `digest` (Bitnami's `common.images.image`),
  mapped `{registry: P.registry, repository: P.repository, digest: P.digest}`: mapping only
  `P` would put the whole ECR reference in `repository`, behind the chart's `docker.io`;
- registry: `registry` + `repository` + `tag` without `digest`, mapped
  `{registry: P.registry, repository: P.repository, tag: P.tag}` (the tag receives
  `<version>@<digest>`);
- reference: one string (`syncImage: ghcr.io/x/y:1.0`, `imageOverride: ""`), `{reference: P}`.

A block is found in values.yaml (a mapping with a string `repository`, or a string under a key
named `image`, `*Image` or `imageOverride`; list elements included), and in values.schema.json
(such a key the schema declares inside a mapping values.yaml has, e.g. a strict chart's
`components.<c>.imageOverride`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pipelinegen.chart.paths import Key, dotted, keys, schema_properties
from pipelinegen.chart.read import Chart

Shape = Literal["split", "bitnami", "registry", "reference"]
IMAGE_KEY = re.compile(r"^(?:image|[A-Za-z0-9_-]*Image|imageOverride)$")
REFERENCE = re.compile(r"^[^\s/:]+(?:[/:][^\s]+)+$")  # at least a path or a tag, no spaces


@dataclass(frozen=True)
class Block:
    """One place the chart reads an image: its values path, shape and default repository (the
    string a reference holds; '' when values.yaml sets none)."""

    path: str
    shape: Shape
    repository: str

    def paths(self) -> list[str]:
        """The values paths a spec mapping of this block sets."""
        parts = {
            "split": ("repository", "tag"),
            "bitnami": ("registry", "repository", "digest"),
            "registry": ("registry", "repository", "tag"),  # no digest key: the tag pins it
        }
        if self.shape == "reference":
            return [self.path]
        return [f"{self.path}.{part}" for part in parts[self.shape]]

    def value(self) -> str | dict[str, str]:
        """The spec's `values` item that maps an image here, pinned by digest."""
        if self.shape == "split":
            return self.path
        if self.shape == "reference":
            return {"reference": self.path}
        return {p.rsplit(".", 1)[-1]: p for p in self.paths()}

    def mapping(self) -> str:
        """value() as flow-style spec text, for hints."""
        value = self.value()
        if isinstance(value, str):
            return value
        return "{" + ", ".join(f"{key}: {path}" for key, path in value.items()) + "}"

    def names(self, image: str, *, by_path: bool = True) -> bool:
        """Whether the block's default repository (or, `by_path`, a key of its path) names the
        spec image `image`."""
        last = self.repository.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
        return last == image or (by_path and image in re.split(r"[.\[\]]", self.path))


def blocks(chart: Chart) -> list[Block]:
    """Every image block of the chart and its readable subcharts (subcharts by key), read from
    the values as Helm coalesces them: the parent's values for a subchart win, key by key."""
    found = {
        dotted(path): Block(dotted(path), shape, repository)
        for path, shape, repository in _blocks(coalesced(chart), None, [])
    }
    for prefix, each in chart.walk():  # keys only the schemas declare
        head = keys(prefix[:-1]) if prefix else []
        for path, shape, repository in _blocks(each.values, each.schema, []):
            found.setdefault(
                dotted([*head, *path]), Block(dotted([*head, *path]), shape, repository)
            )
    return sorted(found.values(), key=lambda block: block.path)


def coalesced(chart: Chart) -> dict[str, Any]:
    """The chart's values with its readable subcharts' defaults under their keys (Helm's
    coalescing: maps merge, the parent's value wins; lists and scalars are replaced whole)."""
    values = copy.deepcopy(chart.values)
    for key, sub in chart.subcharts.items():
        if sub is not None:
            mine = values.get(key)
            values[key] = merge(coalesced(sub), mine if isinstance(mine, dict) else {})
    return values


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over` merged in, maps key by key; `over` wins."""
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = (
            merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def _blocks(
    values: Any, schema: dict[str, Any] | None, path: list[Key]
) -> Iterator[tuple[list[Key], Shape, str]]:
    if isinstance(values, list):
        for index, item in enumerate(values):
            yield from _blocks(item, schema, [*path, index])
        return
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        here: list[Key] = [*path, str(key)]
        block = _block(str(key), value)
        if block is None:
            yield from _blocks(value, schema, here)
        elif schema is None:
            yield here, block, _repository(value)
    if schema is not None:  # only the schema's keys: values.yaml's were read coalesced
        for key in sorted(schema_properties(schema, path)):
            if IMAGE_KEY.match(key) and key not in values:
                yield [*path, key], "reference", ""


def _block(key: str, value: Any) -> Shape | None:
    if isinstance(value, dict) and isinstance(value.get("repository"), str):
        if "digest" in value:
            return "bitnami"
        return "registry" if "registry" in value else "split"
    if IMAGE_KEY.match(key) and isinstance(value, str) and (not value or REFERENCE.match(value)):
        return "reference"
    return None


def _repository(value: Any) -> str:
    """The block's default repository; cert-manager's blocks leave `repository` empty and name
    the image in `name` (joined to the chart's `imageRegistry`/`imageNamespace`)."""
    if isinstance(value, str):
        return value
    registry, repository, name = value.get("registry"), value.get("repository"), value.get("name")
    if not repository and isinstance(name, str):
        return name
    if isinstance(registry, str) and registry:
        return f"{registry}/{repository}"
    return str(repository)

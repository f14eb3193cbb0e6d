"""Image → values paths: the one definition both halves derive from.

`targets(spec)` resolves each image's `values` into `(path, form)` pairs; `compile` writes them into
the CDK app's `pipeline.json` (`helm.images`), and the pipeline's `image_values.py` turns them into
the values file that the deploy (CodeBuild) and the CI `chart` job (GitHub) both pass to Helm. A
form names what the path receives:

| form | value |
|---|---|
| reference | `<registry>/<name>/<image>:<version>@<digest>` |
| registry | `<registry>` |
| repository | `<registry>/<name>/<image>` |
| name | `<name>/<image>` (a repository beside a `registry` path) |
| prefix | `<registry>/<name>` |
| tag | `<version>@<digest>` |
| version | `<version>` (a tag beside a `digest` path) |
| digest | `sha256:<64 hex>` |

A declared third-party image with `values` is set the same way, `<image>` being its name: the
release copies it by digest (`skopeo copy --all --preserve-digests`) to `<registry>/<name>/<image>`
tagged with the release version, so `<digest>` is the declared one. pipeline.json carries its
targets in `third_party_images[].values` (no global block: a chart reads a third-party image where
its own values put it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipelinegen.spec.models import Image, ImageValues, Spec, ThirdPartyImage

Form = Literal["reference", "registry", "repository", "name", "prefix", "tag", "version", "digest"]

# Every image is also set here, whatever its mapping, unless helm.global_values is false.
GLOBAL_PREFIX = "global.pipelinegen.images"
GLOBAL_FORMS: tuple[Form, ...] = ("reference", "registry", "repository", "tag", "digest")
PINNING = ("reference", "tag", "digest")  # a mapping must set one: images are pinned by digest


@dataclass(frozen=True)
class Target:
    """One values path and what it receives."""

    path: str
    form: Form


def mappings(image: Image | ThirdPartyImage) -> list[ImageValues]:
    """The image's `values`, the short form (`P`: `P.repository` + `P.tag`) spelled out."""
    listed = [image.values] if isinstance(image.values, str) else image.values
    return [
        ImageValues(repository=f"{item}.repository", tag=f"{item}.tag")
        if isinstance(item, str)
        else item
        for item in listed
    ]


def image_targets(image: Image | ThirdPartyImage) -> list[Target]:
    """The paths the chart reads the image from, in the spec's order."""
    found: list[Target] = []
    for mapping in mappings(image):
        forms: dict[str, Form] = {
            "reference": "reference",
            "registry": "registry",
            "repository": "name" if mapping.registry else "repository",
            "prefix": "prefix",
            "tag": "version" if mapping.digest else "tag",
            "digest": "digest",
        }
        for key, form in forms.items():
            path = getattr(mapping, key)
            if path is not None:
                found.append(Target(path, form))
    return found


def global_targets(image: str) -> list[Target]:
    """The image's documented block under `global`, which every chart and subchart sees."""
    return [Target(f"{GLOBAL_PREFIX}.{image}.{form}", form) for form in GLOBAL_FORMS]


def targets(spec: Spec) -> dict[str, list[Target]]:
    """Every image's targets, mapped paths first, then the global block (if on)."""
    return {
        image.name: image_targets(image)
        + (global_targets(image.name) if spec.helm.global_values else [])
        for image in spec.images
    }


def mapped(spec: Spec) -> list[Image | ThirdPartyImage]:
    """Every image whose `values` the chart reads: the spec's, then the declared third-party
    ones (their copy in the pipeline's ECR, pinned by the declared digest)."""
    return [*spec.images, *spec.third_party_images]


def as_json(found: list[Target]) -> list[dict[str, str]]:
    """Targets as pipeline.json holds them: [{"path": ..., "form": ...}]."""
    return [{"path": target.path, "form": target.form} for target in found]


def resolved(spec: Spec) -> dict[str, list[dict[str, str]]]:
    """The spec images' targets as pipeline.json holds them (`helm.images`)."""
    return {name: as_json(found) for name, found in targets(spec).items()}

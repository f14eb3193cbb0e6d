"""How an image is built, shared by CI (validate, scan) and the release (OCI tarball)."""

from __future__ import annotations

import posixpath

from pipelinegen.render.github.actions import action
from pipelinegen.render.github.jobs import Step, buildx
from pipelinegen.spec.models import Image, Spec


def build_steps(spec: Spec, image: Image, **inputs: str | bool) -> list[Step]:
    """Buildx set-up (QEMU only when needed), then the build of `image` with extra `inputs`."""
    step = build_step(image, **inputs)
    platforms = str(step.inputs["platforms"]).split(",")
    native = "linux/arm64" if spec.github.runner.endswith("-arm") else "linux/amd64"
    return [*buildx(emulate=any(p != native for p in platforms)), step]


def build_step(image: Image, **inputs: str | bool) -> Step:
    """One build-push-action step: the spec's image inputs, then `inputs` (which win)."""
    spec_inputs: dict[str, str | int | bool] = {
        "context": image.context,
        "file": posixpath.normpath(posixpath.join(image.context, image.dockerfile)),
        "platforms": ",".join(image.platforms),
    }
    if image.build_args:
        spec_inputs["build-args"] = "\n".join(
            f"{name}={value}" for name, value in sorted(image.build_args.items())
        )
    if image.target:
        spec_inputs["target"] = image.target
    return Step(
        f"Build {image.name}", action("docker/build-push-action"), {**spec_inputs, **inputs}
    )

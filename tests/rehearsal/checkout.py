"""A checkout to release from: a copy of a repository with pipelinegen's outputs committed.

No base image can be pulled here (no Docker Hub), so each image's Dockerfile is replaced by a
`FROM scratch` + `COPY` one at the same path, with the same target stage and build arguments:
the build still goes through buildah with the release workflow's inputs, and each image gets
content of its own (so digests differ between images).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.rehearsal.rehearsal import Workflow


def prepare(source: Path, destination: Path) -> Path:
    """Copy `source` to `destination` and give every image a buildable Dockerfile."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("dist", "cdk.out"))
    workflow = Workflow.read(destination / ".github" / "workflows" / "pipelinegen-release.yml")
    for image in workflow.images():
        context = destination / image["context"]
        dockerfile = destination / image["file"]
        dockerfile.parent.mkdir(parents=True, exist_ok=True)
        (context / f".rehearsal-{image['name']}").write_text(f"{image['name']}\n")
        arguments = [line.split("=", 1)[0] for line in image["build_args"].splitlines() if line]
        lines = [f"FROM scratch AS {image['target'] or 'image'}"]
        lines += [f"ARG {name}" for name in arguments]
        lines.append(f"COPY .rehearsal-{image['name']} /{image['name']}")
        dockerfile.write_text("\n".join(lines) + "\n")
    return destination

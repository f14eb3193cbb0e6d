#!/usr/bin/env python3
"""Write the Helm values file that gives the chart every image, pinned by digest.

The deploy (CodeBuild) and the CI `chart` job (GitHub) both run this, so the chart is rendered
with the same values in both: the paths come from pipeline.json (`helm.images`: per image, the
values paths the spec maps and what each receives), the digests from the release's manifest, or,
in CI where nothing is built yet, from placeholders. Standard library only (Python 3.9+):

    python3 image_values.py --pipeline cdk/pipeline.json --registry R --release . --out v.json
    python3 image_values.py --pipeline deploy/cdk/pipeline.json --registry R --placeholder \\
        --out v.json

The output is JSON (which Helm reads as YAML), passed last with `-f`, so it wins over the
environment's values files. Any problem prints one `error: ...` line and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

# No __pycache__ beside the scripts: they run in a checkout (CI) and in the extracted release.
sys.dont_write_bytecode = True
import release  # noqa: E402  (the manifest reader beside this script)

REGISTRY = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
KEY = re.compile(r"^[A-Za-z0-9_-]+$")
PLACEHOLDER_VERSION = "v0.0.0-placeholder"
FORMS = ("reference", "registry", "repository", "name", "prefix", "tag", "version", "digest")


class ValuesError(Exception):
    """The inputs cannot give a values file; the message says why."""


def placeholder_digest(image: str) -> str:
    """A digest no registry holds, the same for the same image in every run."""
    return "sha256:" + hashlib.sha256(f"pipelinegen placeholder {image}".encode()).hexdigest()


def value(form: str, *, registry: str, project: str, image: str, version: str, digest: str) -> str:
    """What a path of `form` receives (the table in pipelinegen.chart.values)."""
    repository = f"{registry}/{project}/{image}"
    return {
        "reference": f"{repository}:{version}@{digest}",
        "registry": registry,
        "repository": repository,
        "name": f"{project}/{image}",
        "prefix": f"{registry}/{project}",
        "tag": f"{version}@{digest}",
        "version": version,
        "digest": digest,
    }[form]


def put(values: dict[str, Any], path: str, text: str) -> None:
    """Set `path` (keys joined by '.') to `text`, refusing to change what another path set."""
    keys = path.split(".")
    if not all(KEY.match(key) for key in keys):
        raise ValuesError(f"values path {path!r} is not keys joined by '.'")
    node = values
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ValuesError(f"values path {path!r} runs through a value set by another path")
        node = child
    old = node.get(keys[-1])
    if isinstance(old, dict) or (old is not None and old != text):
        raise ValuesError(f"values path {path!r} is set twice, to different values")
    node[keys[-1]] = text


def image_values(
    pipeline: dict[str, Any],
    *,
    registry: str,
    version: str,
    digests: dict[str, str],
    project: str | None = None,
) -> dict[str, Any]:
    """The values file's content: every image's targets, filled in. The repositories are
    `<registry>/<project>/<image>`; `project` defaults to pipeline.json's (the pipeline's ECR),
    and is the seller prefix for the chart published to AWS Marketplace."""
    project = project or pipeline.get("project")
    targets = pipeline.get("helm", {}).get("images")
    if not isinstance(project, str) or not isinstance(targets, dict):
        raise ValuesError("pipeline.json has no project or helm.images: compile again")
    values: dict[str, Any] = {}
    for image, listed in sorted(targets.items()):
        if image not in digests:
            raise ValuesError(f"image {image!r} of pipeline.json is not in the release")
        for target in listed:
            form = target.get("form")
            if form not in FORMS:
                raise ValuesError(f"pipeline.json: image {image!r} has an unknown form {form!r}")
            text = value(
                form,
                registry=registry,
                project=project,
                image=image,
                version=version,
                digest=digests[image],
            )
            put(values, str(target.get("path")), text)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pipeline", type=Path, required=True, help="the CDK app's pipeline.json")
    parser.add_argument(
        "--registry", required=True, help="<account>.dkr.ecr.<region>.amazonaws.com"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--release", type=Path, help="the extracted release: version, digests")
    source.add_argument("--placeholder", action="store_true", help="placeholder digests (CI)")
    parser.add_argument("--out", type=Path, required=True, help="the values file to write")
    args = parser.parse_args(argv)
    try:
        if not REGISTRY.match(args.registry):
            raise ValuesError(f"{args.registry!r} is not an ECR registry host")
        pipeline = json.loads(args.pipeline.read_text(encoding="utf-8"))
        if args.placeholder:
            version = PLACEHOLDER_VERSION
            names = pipeline.get("helm", {}).get("images", {})
            digests = {name: placeholder_digest(name) for name in names}
        else:
            manifest = release.load(args.release)
            version = release.release_version(manifest)
            digests = {image.name: image.digest for image in release.images(manifest)}
        values = image_values(pipeline, registry=args.registry, version=version, digests=digests)
        args.out.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except (ValuesError, release.ReleaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, AttributeError) as error:
        print(f"error: cannot read {args.pipeline}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check rendered manifests: every container and initContainer image of a workload that is one of
the spec's images must be `<registry>/<name>/<image>[:<tag>]@sha256:<64 hex>`, the pipeline's
push pinned by digest. Anything else means the chart reads that image from a values path the
spec does not map, and the pods would run another image.

Run after `helm template` with the deploy's arguments (Python 3.9+, standard library, and the
pinned helm on PATH, whose own YAML reader turns the manifests into JSON):

    python3 check_images.py --pipeline deploy/cdk/pipeline.json --registry R rendered.yaml

Prints one `error: ...` line per wrong image, with the values paths the spec maps it to
(pipeline.json `helm.images`) and the image the chart rendered instead, and exits 1; otherwise
prints a summary and exits 0, after a `warning: ...` for each spec image no container runs (an
environment may deploy only some of them), naming the images the chart renders.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# The container lists of a pod spec (Kubernetes API reference, PodSpec).
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
CONVERTER = """{{- range $doc := regexSplit "(?m)^---[ \\t]*$" (.Files.Get "rendered.yaml") -1 }}
{{- $object := fromYaml $doc }}
{{- if $object }}
{{ toJson $object }}
{{- end }}
{{- end }}
"""


class CheckError(Exception):
    """The manifests cannot be read; the message says why."""


def documents(rendered: str) -> list[dict[str, Any]]:
    """The manifests as JSON objects, read by helm's own YAML reader (fromYaml)."""
    with tempfile.TemporaryDirectory() as folder:
        chart = Path(folder)
        (chart / "templates").mkdir()
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: manifests\nversion: 0.0.0\n")
        (chart / "templates" / "json.yaml").write_text(CONVERTER)
        (chart / "rendered.yaml").write_text(rendered)
        result = subprocess.run(
            ["helm", "template", "manifests", str(chart)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise CheckError(f"helm could not read the manifests: {result.stderr.strip()}")
    found = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    broken = [doc["Error"] for doc in found if set(doc) == {"Error"}]
    if broken:
        raise CheckError(f"a rendered manifest is not YAML: {broken[0]}")
    return found


def objects(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every object of the manifests, each `items` list (`kind: List`, `*List`) expanded at any
    depth, as Helm flattens lists when it installs (helm/helm pkg/kube/client.go); the list
    itself is kept too, so nothing it holds outside `items` goes unchecked."""
    found: list[dict[str, Any]] = []
    pending = list(manifests)
    while pending:
        document = pending.pop(0)
        found.append(document)
        items = document.get("items")
        if isinstance(items, list):
            pending.extend(item for item in items if isinstance(item, dict))
    return found


def containers(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(field, container) of every container, initContainer and ephemeralContainer of every pod
    spec anywhere in the object: a mapping at any depth holding one of those lists of mappings,
    whatever the kind (Pod, Deployment, ReplicationController, CronJob's jobTemplate, a custom
    resource's pod template such as an Argo Rollout's spec.template). `items` of a list are
    objects of their own (objects())."""
    found: list[tuple[str, dict[str, Any]]] = []
    pending: list[Any] = [value for key, value in document.items() if key != "items"]
    while pending:
        node = pending.pop(0)
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for field in CONTAINER_FIELDS:
            listed = node.get(field)
            if isinstance(listed, list):
                found.extend((field, item) for item in listed if isinstance(item, dict))
        pending.extend(
            value
            for key, value in node.items()
            if key not in CONTAINER_FIELDS or not isinstance(value, list)
        )
    return found


def image_name(reference: str) -> str:
    """The last path segment of a reference's repository: `api` of `r.io/x/api:1@sha256:…`."""
    return reference.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def mapped_paths(targets: list[dict[str, str]]) -> str:
    """The values paths an image is mapped to (pipeline.json `helm.images`, written by
    pipelinegen.chart.values), siblings grouped: `api.image.{repository,tag}`."""
    groups: dict[str, list[str]] = {}
    for target in targets:
        parent, _, leaf = str(target.get("path", "")).rpartition(".")
        groups.setdefault(parent, []).append(leaf)
    spelled = [
        f"{parent}.{{{','.join(leaves)}}}"
        if len(leaves) > 1
        else f"{parent}.{leaves[0]}".lstrip(".")
        for parent, leaves in groups.items()
    ]
    return ", ".join(spelled) if spelled else "no values path"


def problems(
    manifests: list[dict[str, Any]],
    *,
    registry: str,
    project: str,
    images: dict[str, list[dict[str, str]]],
    only: bool = False,
    digests: dict[str, str] | None = None,
) -> tuple[list[str], list[str], int]:
    """The wrong images (one message each), warnings (spec images no container runs) and the
    number of spec images found pinned. With `only`, every container must run one of the spec's
    images from `<registry>/<project>`: the chart published to AWS Marketplace may run no image
    from anywhere else. With `digests` (image name -> `sha256:<64 hex>`, the release's), each spec
    image must be pinned by its own digest, not any digest of its repository."""
    wrong: list[str] = []
    pinned = 0
    seen: set[str] = set()  # spec images some container runs, pinned or not
    others: list[str] = []  # containers running no spec image: what the chart renders instead
    for document in objects(manifests):
        where = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        for field, container in containers(document):
            reference = str(container.get("image", ""))
            name = image_name(reference)
            if name not in images:
                others.append(f"'{reference}' ({where} {field} '{container.get('name')}')")
                if only:
                    wrong.append(
                        f"{where}: {field} '{container.get('name')}' runs '{reference}', which "
                        f"is none of the spec's images in {registry}/{project}: AWS Marketplace "
                        "accepts only images from the seller's Marketplace repositories"
                    )
                continue
            seen.add(name)
            pushed = f"{registry}/{project}/{name}"
            if re.fullmatch(rf"{re.escape(pushed)}(:[^@/]+)?@sha256:[0-9a-f]{{64}}", reference):
                released = (digests or {}).get(name)
                if digests is None or reference.endswith(f"@{released}"):
                    pinned += 1
                    continue
                wrong.append(
                    f"{where}: {field} '{container.get('name')}' runs '{reference}', not the "
                    f"released {pushed}@{released}: the chart pins image '{name}' by another "
                    f"digest; map image '{name}' to the values path(s) the chart reads it from "
                    f"(`values:` of image '{name}' in the spec)"
                )
                continue
            wrong.append(
                f"{where}: {field} '{container.get('name')}' runs '{reference}', not "
                f"{pushed}@sha256:…: the spec maps image '{name}' to "
                f"{mapped_paths(images[name])}, and this container's image is not made from "
                f"them: map image '{name}' to the values path(s) the chart reads it from "
                f"(`values:` of image '{name}' in the spec)"
            )
    unused = [
        f"image '{name}' is run by no rendered container: the spec maps it to "
        f"{mapped_paths(images[name])}; the chart renders "
        + (", ".join(others) if others else "no other image")
        + f": if one of those should be '{name}', map it to the values path that container's "
        "image comes from"
        for name in images
        if name not in seen
    ]
    return wrong, unused, pinned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pipeline", type=Path, required=True, help="the CDK app's pipeline.json")
    parser.add_argument("--registry", required=True, help="the registry the images are pushed to")
    parser.add_argument(
        "--prefix", help="the repositories' namespace (default: pipeline.json's project)"
    )
    parser.add_argument(
        "--only", action="store_true", help="refuse every image not from <registry>/<prefix>"
    )
    parser.add_argument("rendered", type=Path, help="the output of helm template")
    args = parser.parse_args(argv)
    try:
        pipeline = json.loads(args.pipeline.read_text(encoding="utf-8"))
        images = dict(sorted(pipeline["helm"]["images"].items()))
        manifests = documents(args.rendered.read_text(encoding="utf-8"))
        wrong, unused, pinned = problems(
            manifests,
            registry=args.registry,
            project=args.prefix or pipeline["project"],
            images=images,
            only=args.only,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, CheckError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for message in wrong:
        print(f"error: {message}", file=sys.stderr)
    for message in unused:  # an environment may deploy only some images: said, not refused
        print(f"warning: {message}", file=sys.stderr)
    if wrong:
        return 1
    print(
        f"{args.rendered}: {pinned} container image(s) of the spec's images, all pinned by digest"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

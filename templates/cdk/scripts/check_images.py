#!/usr/bin/env python3
"""Check rendered manifests: every container and initContainer image of a workload that is one of
the spec's images must be `<registry>/<name>/<image>[:<tag>]@sha256:<64 hex>`, the pipeline's
push pinned by digest. Anything else means the chart reads that image from a values path the
spec does not map, and the pods would run another image.

Run after `helm template` with the deploy's arguments (Python 3.9+, standard library, and the
pinned helm on PATH, whose own YAML reader turns the manifests into JSON):

    python3 check_images.py --pipeline deploy/cdk/pipeline.json --registry R rendered.yaml

Prints one `error: ...` line per wrong image and exits 1; prints a summary and exits 0 otherwise.
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

# Where each workload kind keeps its pod spec (Kubernetes API reference, workloads).
POD_SPEC = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
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


def containers(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(field, container) of a workload's containers and initContainers."""
    node: Any = document
    for key in POD_SPEC.get(str(document.get("kind")), ()):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or document.get("kind") not in POD_SPEC:
        return []
    return [
        (field, container)
        for field in ("initContainers", "containers")
        for container in node.get(field) or []
        if isinstance(container, dict)
    ]


def image_name(reference: str) -> str:
    """The last path segment of a reference's repository: `api` of `r.io/x/api:1@sha256:…`."""
    return reference.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def problems(
    manifests: list[dict[str, Any]], *, registry: str, project: str, images: list[str]
) -> tuple[list[str], int]:
    """The wrong images (one message each) and the number of spec images found pinned."""
    wrong, pinned = [], 0
    for document in manifests:
        where = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        for field, container in containers(document):
            reference = str(container.get("image", ""))
            name = image_name(reference)
            if name not in images:
                continue
            pattern = (
                rf"{re.escape(f'{registry}/{project}/{name}')}(:[^@/]+)?@sha256:[0-9a-f]{{64}}"
            )
            if re.fullmatch(pattern, reference):
                pinned += 1
                continue
            wrong.append(
                f"{where}: {field} '{container.get('name')}' runs '{reference}', not "
                f"{registry}/{project}/{name}@sha256:…: map image '{name}' to the values path "
                f"this chart reads it from (`values:` of image '{name}' in the spec)"
            )
    return wrong, pinned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pipeline", type=Path, required=True, help="the CDK app's pipeline.json")
    parser.add_argument("--registry", required=True, help="the registry the images are pushed to")
    parser.add_argument("rendered", type=Path, help="the output of helm template")
    args = parser.parse_args(argv)
    try:
        pipeline = json.loads(args.pipeline.read_text(encoding="utf-8"))
        images = sorted(pipeline["helm"]["images"])
        manifests = documents(args.rendered.read_text(encoding="utf-8"))
        wrong, pinned = problems(
            manifests, registry=args.registry, project=pipeline["project"], images=images
        )
    except (OSError, ValueError, KeyError, TypeError, CheckError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for message in wrong:
        print(f"error: {message}", file=sys.stderr)
    if wrong:
        return 1
    print(
        f"{args.rendered}: {pinned} container image(s) of the spec's images, all pinned by digest"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What a rendered release asks of the cluster: the kinds it creates, and the hook Jobs that clean
themselves up. deploy.sh reads both before `helm upgrade` (Python 3.9+, standard library, and the
pinned helm on PATH, whose YAML reader chart_check.py uses):

    python3 cluster_objects.py rendered.yaml

prints, sorted:

    kind<TAB><kind in lower case>[.<API group>]<TAB><apiVersion> <Kind>
        one line per kind; the second field is what `kubectl auth can-i create` takes (kubectl
        resolves a kind's singular name, the lower-cased kind, through the cluster's discovery)
    ttl-hook<TAB>Job/<name>
        one line per hook Job (`helm.sh/hook` annotation) with `spec.ttlSecondsAfterFinished`.
        Helm 4.1.4's `watcher` wait strategy waits for such a Job until the whole timeout once
        the TTL controller deletes it, then fails the release (helm/helm#31786, fixed by
        helm/helm#31851, not released); the `legacy` strategy counts a deleted hook as done
        (helm/helm v4.1.4 pkg/kube/wait.go, legacyWaiter.watchUntilReady: `watch.Deleted`
        returns true).

Exits 1 with an `error: ...` line when the manifests cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chart_check import CheckError, documents, flatten

HOOK = "helm.sh/hook"


def kinds(found: list[dict[str, Any]]) -> list[str]:
    """`<kind>[.<group>]<TAB><apiVersion> <Kind>` per kind, sorted (lists are not objects)."""
    lines = set()
    for item in found:
        kind, api_version = item.get("kind"), item.get("apiVersion")
        if not isinstance(kind, str) or not isinstance(api_version, str) or kind.endswith("List"):
            continue
        group = api_version.rpartition("/")[0]
        resource = kind.lower() + (f".{group}" if group else "")
        lines.add(f"{resource}\t{api_version} {kind}")
    return sorted(lines)


def ttl_hooks(found: list[dict[str, Any]]) -> list[str]:
    """`Job/<name>` of every hook Job that sets `spec.ttlSecondsAfterFinished`."""
    hooks = []
    for item in found:
        metadata = item.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        spec = item.get("spec") or {}
        if (
            item.get("kind") == "Job"
            and isinstance(annotations, dict)
            and annotations.get(HOOK)
            and isinstance(spec, dict)
            and spec.get("ttlSecondsAfterFinished") is not None
        ):
            hooks.append(f"Job/{metadata.get('name', '?')}")
    return sorted(hooks)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: cluster_objects.py RENDERED.yaml", file=sys.stderr)
        return 2
    try:
        rendered = Path(argv[0]).read_text(encoding="utf-8")
        found = [document for _, document in flatten(documents(rendered))]
    except (OSError, UnicodeDecodeError, CheckError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in kinds(found):
        print(f"kind\t{line}")
    for hook in ttl_hooks(found):
        print(f"ttl-hook\t{hook}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""The release version: its grammar and limits, defined once for both halves of the pipeline.

A release's version is its git tag (`github.ref_name`). It becomes every image's tag in ECR and
in the Marketplace registry, the Helm values `images.<name>.tag` (which charts commonly copy into
the `app.kubernetes.io/version` label), the Marketplace version title and change-set name. A tag
that one of those refuses must be refused before anything is built or uploaded, with the same
rules the pipeline applies later, so this one file is what both sides run:

- the release workflow, on GitHub, before it builds or uploads anything (with `--helm-chart`
  when the release publishes the Helm chart to AWS Marketplace, which needs SemVer 2):
      python3 deploy/cdk/scripts/release_version.py [--helm-chart] "$RELEASE_VERSION"
- the contract check in CodeBuild (release.py imports `problems`), on the manifest's version.

It prints each problem as `error: ...` and exits 1, or exits 0 silently. Python 3.9+, standard
library only.
"""

from __future__ import annotations

import re
import sys

# Characters an image tag may hold (OCI distribution spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}).
TAG_CHARACTERS = re.compile(r"[A-Za-z0-9_.-]")
# At most 128 characters in an image tag (OCI distribution spec).
IMAGE_TAG_MAX = 128
# At most 63 characters in a Kubernetes label value, which must start and end with a letter or
# digit (Kubernetes "Labels and Selectors"): the binding limit, as charts label pods with the tag.
LABEL_VALUE_MAX = 63
# AWS Marketplace's version title is at most 64 characters (AddDeliveryOptions, Version.
# VersionTitle, Catalog API), and it refuses the tag 'latest' (INVALID_CONTAINER_IMAGE_TAG).
VERSION_TITLE_MAX = 64
RESERVED = ("latest",)
MAX_LENGTH = min(IMAGE_TAG_MAX, LABEL_VALUE_MAX, VERSION_TITLE_MAX)
# The whole grammar in one expression, for tools that want a pattern (e.g. a JSON Schema).
PATTERN = rf"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{{0,{MAX_LENGTH - 2}}}[A-Za-z0-9])?$"
GRAMMAR = (
    f"1 to {MAX_LENGTH} letters, digits, '_', '.' and '-', starting and ending with a letter or "
    "digit, e.g. v1.2.3 or 2026.11.0-rc.1"
)


def problems(version: str) -> list[str]:
    """Every reason `version` cannot be a release version, in words; [] when it can."""
    found = []
    illegal = sorted({c for c in version if not TAG_CHARACTERS.fullmatch(c)})
    if illegal:
        shown = ", ".join(repr(c) for c in illegal)
        found.append(f"{shown} cannot be in an image tag (only letters, digits, '_', '.', '-')")
    if not version:
        found.append("it is empty")
    elif not (version[0].isascii() and version[0].isalnum()):
        found.append(
            f"it starts with {version[0]!r}; a Kubernetes label value starts with a letter or digit"
        )
    elif not (version[-1].isascii() and version[-1].isalnum()):
        found.append(
            f"it ends with {version[-1]!r}; a Kubernetes label value ends with a letter or digit"
        )
    if len(version) > MAX_LENGTH:
        found.append(
            f"it has {len(version)} characters; at most {MAX_LENGTH} (a Kubernetes label value; "
            f"image tags allow {IMAGE_TAG_MAX}, Marketplace version titles {VERSION_TITLE_MAX})"
        )
    if version.lower() in RESERVED:
        found.append(f"{version!r} is the moving tag registries use; AWS Marketplace refuses it")
    return found


# A Helm chart's version must be SemVer 2 (helm.sh/docs/topics/charts, "Charts and Versioning";
# Helm also reads a leading 'v'). The chart published to AWS Marketplace is versioned with the
# release version, so a release with the Helm delivery option needs a version like that.
CHART_VERSION = re.compile(
    r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)


def chart_problems(version: str) -> list[str]:
    """Why `version` cannot version the Helm chart published to AWS Marketplace; [] when it can."""
    if CHART_VERSION.fullmatch(version):
        return []
    return [
        f"release version {version!r} is not a SemVer 2 version (such as v1.2.3 or 1.2.3-rc.1), "
        "which the Helm chart published to AWS Marketplace needs as its version; push a tag "
        "like that"
    ]


def explain(version: str) -> list[str]:
    """The problems as complete sentences, each naming the version and the grammar."""
    return [
        f"release version {version!r} is not valid: {problem}. A release version is {GRAMMAR}; "
        "push a tag like that"
        for problem in problems(version)
    ]


def main(argv: list[str]) -> int:
    chart = argv[:1] == ["--helm-chart"]
    argv = argv[1:] if chart else argv
    if len(argv) != 1:
        print("usage: release_version.py [--helm-chart] VERSION", file=sys.stderr)
        return 2
    messages = explain(argv[0]) or (chart_problems(argv[0]) if chart else [])
    for message in messages:
        print(f"error: {message}", file=sys.stderr)
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

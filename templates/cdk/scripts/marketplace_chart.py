#!/usr/bin/env python3
"""Package the release's chart for the AWS Marketplace Helm delivery option.

The chart a buyer installs from AWS Marketplace must run only images from the seller's
Marketplace repositories (AWS Marketplace Seller Guide, "Container-based product requirements";
the change set fails with INVALID_CONTAINER_IMAGE_URI otherwise), and is installed with its own
values and the override parameters alone. So the chart is packaged self-contained: its
values.yaml gets every image at the values paths the spec maps for it (image_values.py, the same
mapping the deploy uses) as `<Marketplace registry>/<seller prefix>/<image>` pinned by digest,
its version and appVersion become the release version (Helm requires a SemVer 2 chart version:
helm.sh/docs/topics/charts, "Charts and Versioning"), and `helm package` writes
`<chart name>-<version>.tgz`, the same bytes on every run (every file's time is fixed first).
The package is then rendered with `helm template` as a buyer would install it — with the
override parameters' defaults, every pair of boolean overrides flipped, each other override at
another value a buyer could type, and as an upgrade, for the publishing environment's Kubernetes
version and API versions — and every image of every pod is checked to be a spec image from the
Marketplace repositories pinned by the release's digest, or the seller's copy of a declared
third-party image the spec maps (`<prefix>/<name>` at its declared digest), by the one chart
check (chart_check.py).
A render Helm refuses is reported as unchecked, not passed.

publish-marketplace.sh runs this in the extracted release (Python 3.9+, standard library, helm on
PATH):

    python3 marketplace_chart.py package --pipeline cdk/pipeline.json --release . \\
        --registry 709825985650.dkr.ecr.us-east-1.amazonaws.com --prefix acme --out DIR

It prints `<chart name>\\t<chart version>\\t<package path>` and exits 0, or prints `error: ...`
lines and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True
import chart_check  # noqa: E402  (beside this script: helm's YAML reader, the chart check)
import image_values  # noqa: E402  (beside this script: the image -> values mapping)
import release  # noqa: E402  (beside this script: the manifest reader)

import release_version  # noqa: E402  (beside this script: the version grammar, chart versions)

# A Helm chart's content layer in an OCI registry (helm.sh/docs/topics/registries).
CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
# Helm's booleans as --set reads them (strvals), each with its opposite.
BOOLEANS = {"true": "false", "false": "true"}
HEADER = (
    "# The values of this chart as published to AWS Marketplace: every image is pinned by digest\n"
    "# in the seller's Marketplace repositories. Written by pipelinegen's marketplace_chart.py.\n"
)


class ChartError(Exception):
    """The chart cannot be packaged for AWS Marketplace; the message says why."""


def chart_values(chart: Path) -> dict[str, Any]:
    """The chart's own values.yaml, read by helm's YAML reader."""
    path = chart / "values.yaml"
    if not path.is_file():
        return {}
    found = [doc for _, doc in chart_check.documents(path.read_text(encoding="utf-8"))]
    if len(found) > 1:
        raise ChartError(f"{path} holds {len(found)} YAML documents; Helm reads one")
    return found[0] if found else {}


def run_helm(args: list[str]) -> str:
    result = subprocess.run(["helm", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ChartError(f"helm {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def package(
    *,
    pipeline: dict[str, Any],
    root: Path,
    registry: str,
    prefix: str,
    out: Path,
) -> tuple[str, str, Path]:
    """(chart name, chart version, package) of the release's chart, packaged for AWS
    Marketplace and checked to run only the seller's Marketplace images."""
    manifest = release.load(root)
    version = release.release_version(manifest)
    if release_version.chart_problems(version):
        raise ChartError(release_version.chart_problems(version)[0])
    release.check_layout(root, manifest)
    source = root / release.safe_path(manifest["chart"])
    digests = {image.name: image.digest for image in release.images(manifest)}
    chart = out / "chart"
    shutil.copytree(source, chart)
    # A buyer installs with the chart's own values: a mapped list element is set in the list
    # the chart's values.yaml (or a subchart's) holds.
    base = (
        image_values.effective_values(chart, [], chart_check.objects)
        if image_values.needs_lists(pipeline)
        else None
    )
    images = image_values.image_values(
        pipeline, registry=registry, version=version, digests=digests, project=prefix, base=base
    )
    values = image_values.merge(chart_values(chart), images)
    text = HEADER + json.dumps(values, indent=2, sort_keys=True) + "\n"
    (chart / "values.yaml").write_text(text, encoding="utf-8")
    # `helm package` writes each file's modification time into the archive: one fixed time makes
    # the package the same bytes on every run, so a retried publication finds its own chart.
    for path in [chart, *chart.rglob("*")]:
        os.utime(path, (0, 0))
    printed = run_helm(
        ["package", str(chart), "--version", version, "--app-version", version, "-d", str(out)]
    )
    found = re.search(r"saved it to: (.+\.tgz)\s*$", printed)
    if not found:
        raise ChartError(f"helm package said nothing of a package: {printed.strip()}")
    packaged = Path(found.group(1))
    name = packaged.name[: -len(f"-{version}.tgz")]
    check(pipeline, packaged, registry=registry, prefix=prefix, out=out, digests=digests)
    return name, version, packaged


def other_value(value: str) -> str:
    """A value a buyer could type instead of `value`: a number plus one, a boolean's opposite,
    another non-empty string."""
    if value.lower() in BOOLEANS:
        return BOOLEANS[value.lower()]
    if re.fullmatch(r"-?[0-9]+", value):
        return str(int(value) + 1)
    if re.fullmatch(r"-?[0-9]*\.[0-9]+", value):
        return repr(float(value) + 1)
    return "pipelinegen-check" if value != "pipelinegen-check" else "pipelinegen-other"


def override_sets(pipeline: dict[str, Any]) -> list[list[str]]:
    """The `--set key=value` arguments of each render the check makes (AWS Marketplace passes
    each override parameter with `--set`: Seller Guide, "Helm chart delivery option"): first
    the override parameters' defaults, as a buyer's install passes them (a parameter without one,
    which the buyer must give, at a typed value); then each boolean override (`true`/`false`, any
    case) flipped alone and every pair of them flipped together; then each other override at
    another value a buyer could type (other_value())."""
    helm = (pipeline.get("marketplace") or {}).get("helm") or {}
    defaults = [
        (str(parameter.get("Key")), str(parameter.get("DefaultValue") or "pipelinegen-check"))
        for parameter in helm.get("override_parameters") or []
        if isinstance(parameter, dict)
    ]
    flips = [index for index, (_, value) in enumerate(defaults) if value.lower() in BOOLEANS]
    others = [index for index in range(len(defaults)) if index not in flips]

    def sets(changed: set[int]) -> list[str]:
        return [
            f"{key}={other_value(value) if index in changed else value}"
            for index, (key, value) in enumerate(defaults)
        ]

    renders = [sets(set())]
    renders += [sets({index}) for index in flips]
    renders += [
        sets({first, second}) for at, first in enumerate(flips) for second in flips[at + 1 :]
    ]
    renders += [sets({index}) for index in others]
    return renders


def publisher(pipeline: dict[str, Any]) -> chart_check.Environment:
    """The environment a buyer's cluster is judged by: the publishing environment's (else the
    last one's) Kubernetes version and API versions, and a buyer's own (cluster-admin) access."""
    listed = pipeline.get("environments") or []
    entries = [e for e in listed if e.get("marketplace")] or listed[-1:]
    if not entries:
        raise ChartError("pipeline.json has no environment: compile again")
    environment = chart_check.Environment.of(entries[0])
    environment.cluster_admin = True
    return environment


def check(
    pipeline: dict[str, Any],
    packaged: Path,
    *,
    registry: str,
    prefix: str,
    out: Path,
    digests: dict[str, str],
) -> chart_check.Report:
    """Render the package as buyers install it (override_sets(), then the defaults as an
    upgrade) and judge every render with the chart check; a render Helm refuses is unchecked."""
    helm = (pipeline.get("marketplace") or {}).get("helm") or {}
    environment = publisher(pipeline)
    images = chart_check.images_from(pipeline, registry=registry, project=prefix)
    images.digests, images.only = digests, True
    report = chart_check.Report()
    renders = [
        chart_check.Render(
            f"with --set {','.join(assignments)}" if assignments else "with the chart's values",
            sets=tuple(assignments),
        )
        for assignments in override_sets(pipeline)
    ]
    renders.insert(1, chart_check.Render(f"{renders[0].label}, as upgrade", True, renders[0].sets))
    for number, render in enumerate(renders):
        try:
            rendered = chart_check.helm_template(
                str(packaged),
                release=str(helm.get("release_name") or "release"),
                namespace=str(helm.get("namespace") or "default"),
                values=[],
                kubernetes_version=environment.kubernetes_version,
                api_versions=environment.api_versions,
                render=render,
            )
        except chart_check.CheckError as error:
            if number == 0:
                raise ChartError(str(error)) from None
            report.unchecked.append(str(error))
            continue
        chart_check.judge(
            rendered, label=render.label, environment=environment, images=images, report=report
        )
        if number == 0:
            if not report.pinned:
                raise ChartError(
                    f"{packaged.name} renders no pod that runs one of the spec's images"
                )
            (out / "rendered.yaml").write_text(rendered, encoding="utf-8")
    if report.findings:
        raise ChartError("\n".join(report.errors()))
    for line in report.unchecked:
        print(f"warning: unchecked: {line}", file=sys.stderr)
    return report


def pushed(manifest: bytes, packaged: Path) -> str:
    """The digest of a registry's chart manifest whose content layer is `packaged`, or a
    ChartError saying how it differs."""
    try:
        document = release.strict_json(manifest)
    except (UnicodeDecodeError, ValueError) as error:
        raise ChartError(f"the registry's manifest is not JSON: {error}") from None
    layers = document.get("layers") if isinstance(document, dict) else None
    charts = [
        layer.get("digest")
        for layer in (layers if isinstance(layers, list) else [])
        if isinstance(layer, dict) and layer.get("mediaType") == CHART_LAYER
    ]
    local = "sha256:" + hashlib.sha256(packaged.read_bytes()).hexdigest()
    if charts != [local]:
        raise ChartError(
            f"the registry holds chart content {', '.join(map(str, charts)) or 'none'}, not "
            f"{packaged.name} ({local}): publish a new version"
        )
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("package", help="package and check the Marketplace chart")
    build.add_argument("--pipeline", type=Path, required=True, help="the CDK app's pipeline.json")
    build.add_argument("--release", type=Path, required=True, help="the extracted release")
    build.add_argument("--registry", required=True, help="the Marketplace registry host")
    build.add_argument("--prefix", required=True, help="the seller's repository prefix")
    build.add_argument("--out", type=Path, required=True, help="an empty folder to work in")
    verify = commands.add_parser("pushed", help="check the registry's manifest of the chart")
    verify.add_argument("--manifest", type=Path, required=True, help="skopeo inspect --raw")
    verify.add_argument("--package", type=Path, required=True, help="the packaged chart")
    args = parser.parse_args(argv)
    try:
        if args.command == "pushed":
            print(pushed(args.manifest.read_bytes(), args.package))
            return 0
        if not image_values.REGISTRY.match(args.registry):
            raise ChartError(f"{args.registry!r} is not an ECR registry host")
        pipeline = json.loads(args.pipeline.read_text(encoding="utf-8"))
        name, version, packaged = package(
            pipeline=pipeline,
            root=args.release,
            registry=args.registry,
            prefix=args.prefix,
            out=args.out,
        )
    except (ChartError, release.ReleaseError, image_values.ValuesError) as error:
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, TypeError, chart_check.CheckError) as error:
        print(f"error: cannot package the chart: {error}", file=sys.stderr)
        return 1
    print(f"{name}\t{version}\t{packaged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

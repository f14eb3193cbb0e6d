#!/usr/bin/env python3
"""Write the Helm values file that gives the chart every image, pinned by digest.

The deploy (CodeBuild) and the CI `chart` job (GitHub) both run this, so the chart is rendered
with the same values in both: the paths come from pipeline.json (`helm.images`: per image, the
values paths the spec maps and what each receives), the digests from the release's manifest, or,
in CI where nothing is built yet, from placeholders. A declared third-party image the spec maps
(`third_party_images[].values`) is set the same way to the release's copy of it,
`<registry>/<project>/<name>`, at its declared digest. Standard library only (Python 3.9+):

    python3 image_values.py --pipeline cdk/pipeline.json --registry R --release . --out v.json \\
        [--chart CHART --values FILE ...]
    python3 image_values.py --pipeline deploy/cdk/pipeline.json --registry R --placeholder \\
        --out v.json [--chart CHART --values FILE ...]

The output is JSON (which Helm reads as YAML), passed last with `-f`, so it wins over the
environment's values files. A path may name a list element (`sidecars[0].image`, as `--set`
writes it): Helm replaces a list whole when values files merge, so the file then holds the whole
list Helm would otherwise use (the environment's values files over the chart's values.yaml and
its subcharts', read with helm's own YAML reader from `--chart` and `--values`), with that
element's key set: the element keeps its other keys. Any problem prints one `error: ...` line
and exits 1.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# No __pycache__ beside the scripts: they run in a checkout (CI) and in the extracted release.
sys.dont_write_bytecode = True
import chart_check  # noqa: E402  (helm's YAML reader, for the chart's lists)
import release  # noqa: E402  (the manifest reader beside this script)

REGISTRY = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SEGMENT = re.compile(r"^([A-Za-z0-9_-]+)((?:\[[0-9]+\])*)$")
INDEX = re.compile(r"\[([0-9]+)\]")
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


def keys(path: str) -> list[str | int]:
    """`a.b[0].c` -> ['a', 'b', 0, 'c'] (the grammar of pipelinegen.chart.paths.keys)."""
    found: list[str | int] = []
    for segment in str(path).split("."):
        match = SEGMENT.match(segment)
        if not match:
            raise ValuesError(f"values path {path!r} is not keys joined by '.'")
        found.append(match.group(1))
        found.extend(int(index) for index in INDEX.findall(match.group(2)))
    return found


def put(values: dict[str, Any], path: str, text: str, base: dict[str, Any] | None = None) -> None:
    """Set `path` to `text`, refusing to change what another path set. A list on the way is
    copied whole from `base` (the values Helm would otherwise use) before its element is set."""
    found = keys(path)
    node: Any = values
    reference: Any = base
    for position, key in enumerate(found[:-1]):
        nxt = found[position + 1]
        reference = _child(reference, key)
        child = _child(node, key)
        if isinstance(nxt, int) and not isinstance(child, list):
            if child is not None or not isinstance(reference, list):
                raise ValuesError(_no_list(path, found[: position + 1], reference))
            child = copy.deepcopy(reference)
            _assign(node, key, child, path)
        elif isinstance(nxt, str) and not isinstance(child, dict):
            if child is not None:
                raise ValuesError(f"values path {path!r} runs through a value set by another path")
            child = {}
            _assign(node, key, child, path)
        node = child
    if isinstance(_child(node, found[-1]), (dict, list)):
        raise ValuesError(f"values path {path!r} holds values another path set")
    _assign(node, found[-1], text, path)


def _child(node: Any, key: str | int) -> Any:
    if isinstance(key, int):
        return node[key] if isinstance(node, list) and key < len(node) else None
    return node.get(key) if isinstance(node, dict) else None


def _assign(node: Any, key: str | int, value: Any, path: str) -> None:
    if isinstance(key, int):
        if not isinstance(node, list) or key >= len(node):
            raise ValuesError(f"values path {path!r}: the list has no element {key}")
        node[key] = value
    else:
        node[key] = value


def _no_list(path: str, found: list[str | int], reference: Any) -> str:
    where = ".".join(str(key) for key in found)
    held = f"a list of {len(reference)}" if isinstance(reference, list) else "no list"
    return (
        f"values path {path!r} names a list element, but the values Helm would use hold "
        f"{held} at {where!r} (the chart's values.yaml and the environment's values files)"
    )


def image_values(
    pipeline: dict[str, Any],
    *,
    registry: str,
    version: str,
    digests: dict[str, str],
    project: str | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The values file's content: every image's targets, filled in. The repositories are
    `<registry>/<project>/<image>`; `project` defaults to pipeline.json's (the pipeline's ECR),
    and is the seller prefix for the chart published to AWS Marketplace. `base` is the values
    Helm would use without these (needed only for list elements: effective_values())."""
    project = project or pipeline.get("project")
    if not isinstance(project, str):
        raise ValuesError("pipeline.json has no project or helm.images: compile again")
    values: dict[str, Any] = {}
    written: dict[str, str] = {}
    for image, listed, digest in pinned(pipeline, digests):
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
                digest=digest,
            )
            path = str(target.get("path"))
            if written.setdefault(path, text) != text:
                raise ValuesError(f"values path {path!r} is set twice, to different values")
            put(values, path, text, base)
    return values


def pinned(
    pipeline: dict[str, Any], digests: dict[str, str]
) -> list[tuple[str, list[dict[str, str]], str]]:
    """(image, targets, digest) of each image the values file sets: the spec's (`helm.images`),
    at the release's digest; then each declared third-party image the spec maps
    (`third_party_images[].values`), at its declared digest: the release copies it into the
    same registry with `--preserve-digests`. A release that lists it (a `third_party` entry of
    the manifest's `images`) must hold that digest."""
    targets = pipeline.get("helm", {}).get("images")
    if not isinstance(targets, dict):
        raise ValuesError("pipeline.json has no project or helm.images: compile again")
    found = []
    for image, listed in sorted(targets.items()):
        if image not in digests:
            raise ValuesError(f"image {image!r} of pipeline.json is not in the release")
        found.append((image, list(listed), digests[image]))
    for entry in third_party(pipeline):
        name, declared = str(entry["name"]), str(entry["digest"])
        if digests.get(name, declared) != declared:
            raise ValuesError(
                f"third-party image {name!r} is {digests[name]} in the release, but pipeline.json "
                f"declares {declared}: release again from the spec this pipeline was made from"
            )
        found.append((name, list(entry["values"]), declared))
    return found


def third_party(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """The declared third-party images the spec maps to values paths (pipeline.json
    `third_party_images`, each with its `name`, `image`, `digest`, `repository` and `values`)."""
    listed = pipeline.get("third_party_images") or []
    return [entry for entry in listed if isinstance(entry, dict) and entry.get("values")]


def needs_lists(pipeline: dict[str, Any]) -> bool:
    """Whether a mapped path names a list element (only then are the chart's values read)."""
    listed = list((pipeline.get("helm", {}).get("images") or {}).values())
    listed += [entry["values"] for entry in third_party(pipeline)]
    return any("[" in str(t.get("path")) for found in listed for t in found)


Reader = Callable[[str], list[dict[str, Any]]]


def effective_values(chart: Path, files: list[Path], read: Reader) -> dict[str, Any]:
    """The values Helm renders `chart` with, images aside: its values.yaml over its subcharts'
    (under each dependency's alias, else name), then each values file in order (maps merge, the
    later wins; lists and scalars are replaced whole: Helm's coalescing, helm.sh/docs,
    chart_template_guide/values_files and subcharts_and_globals).
    `read` turns YAML text into documents (helm's own reader: chart_check.objects)."""
    values = chart_defaults(chart, read)
    for file in files:
        values = merge(values, _one(read(file.read_text(encoding="utf-8")), str(file)))
    return values


def chart_defaults(chart: Path, read: Reader) -> dict[str, Any]:
    """values.yaml of the chart folder, with its subcharts' in charts/ (folders and .tgz)."""
    meta = _one(read((chart / "Chart.yaml").read_text(encoding="utf-8")), f"{chart}/Chart.yaml")
    own = _file(chart / "values.yaml", read)
    subcharts: dict[str, dict[str, Any]] = {}
    folder = chart / "charts"
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            its = _one(read((entry / "Chart.yaml").read_text(encoding="utf-8")), str(entry))
            subcharts[str(its.get("name", entry.name))] = chart_defaults(entry, read)
        elif entry.name.endswith(".tgz") and entry.is_file():
            subcharts.update(_packaged(entry, read))
    listed = meta.get("dependencies") or []
    if not listed and (chart / "requirements.yaml").is_file():
        listed = _file(chart / "requirements.yaml", read).get("dependencies") or []
    defaults: dict[str, Any] = {}
    for dependency in listed if isinstance(listed, list) else []:
        named = str(dependency.get("name")) if isinstance(dependency, dict) else ""
        if named in subcharts:
            defaults[str(dependency.get("alias") or named)] = subcharts[named]
    for name, values in subcharts.items():
        if not any(isinstance(d, dict) and d.get("name") == name for d in listed):
            defaults[name] = values
    return merge(defaults, own)


def _packaged(archive: Path, read: Reader) -> dict[str, dict[str, Any]]:
    """{chart name: values.yaml} of a packaged subchart (`<name>/values.yaml` in the archive;
    the subcharts packaged inside it are not read: a list there cannot be mapped)."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {member.name: member for member in tar.getmembers() if member.isfile()}
        metas = [name for name in members if name.count("/") == 1 and name.endswith("/Chart.yaml")]
        if len(metas) != 1:
            raise ValuesError(f"{archive} is not a packaged chart")
        top = metas[0].split("/", 1)[0]
        meta = _member(tar, members, metas[0], read)
        values = _member(tar, members, f"{top}/values.yaml", read)
    return {str(meta.get("name", top)): values}


def _member(
    tar: tarfile.TarFile, members: dict[str, Any], name: str, read: Reader
) -> dict[str, Any]:
    if name not in members:
        return {}
    handle = tar.extractfile(members[name])
    text = handle.read().decode("utf-8") if handle is not None else ""
    return _one(read(text), name)


def _file(path: Path, read: Reader) -> dict[str, Any]:
    return _one(read(path.read_text(encoding="utf-8")), str(path)) if path.is_file() else {}


def _one(documents: list[dict[str, Any]], where: str) -> dict[str, Any]:
    if len(documents) > 1:
        raise ValuesError(f"{where} holds {len(documents)} YAML documents; Helm reads one")
    return documents[0] if documents else {}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over` merged in, maps key by key (as Helm coalesces values); `over` wins."""
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = (
            merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


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
    parser.add_argument("--chart", type=Path, help="the chart folder (for list elements)")
    parser.add_argument(
        "--values", type=Path, action="append", default=[], help="an environment's values file"
    )
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
        base = None
        if needs_lists(pipeline):
            if args.chart is None:
                raise ValuesError("a values path names a list element: pass --chart (and --values)")
            base = effective_values(args.chart, args.values, chart_check.objects)
        values = image_values(
            pipeline, registry=args.registry, version=version, digests=digests, base=base
        )
        args.out.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except (ValuesError, release.ReleaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (tarfile.TarError, UnicodeDecodeError) as error:
        print(f"error: cannot read the chart {args.chart}: {error}", file=sys.stderr)
        return 1
    except chart_check.CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, AttributeError) as error:
        print(f"error: cannot read {args.pipeline}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

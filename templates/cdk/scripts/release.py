#!/usr/bin/env python3
"""Read and check a release's manifest.json: the handoff contract, as the pipeline sees it.

A release is two zips: the release (manifest.json, cdk/, chart/, marketplace/) and its images
(one OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>`, each image named in
index.json by its `org.opencontainers.image.ref.name` annotation). The pipeline's scripts run
this in the extracted release (Python 3.9+, standard library only), with the images extracted
in a folder of their own; it runs the same way locally:

    python3 release.py verify --expected-spec-sha256 <64 hex> --images DIR  # the whole check
    python3 release.py images --images DIR  # "<name>\\t<digest>" per image, the layout checked
    python3 release.py digests       # "<name>\\t<digest>" per image, from manifest.json alone
    python3 release.py get version   # one field: version, project, chart, spec_sha256, git_sha
    python3 release.py dependencies  # "<name>\\t<version>\\t<archive>" per chart dependency

Any problem prints one `error: ...` line (or a few, for a spec mismatch) and exits 1.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import stat
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import release_version as versions  # the version grammar the release workflow checks too

FORMAT = 2  # the manifest format this pipeline reads (2: the images in an object of their own)
MANIFEST = "manifest.json"
# Every pattern is matched with fullmatch: `$` would also accept a trailing newline.
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
SHA256 = re.compile(r"[0-9a-f]{64}")
# The spec's image names: they become ECR repository names and Helm value keys.
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
INDEX = "index.json"  # an OCI image layout's entry point (of an archive, and of the images)
LAYOUT_FILE = "oci-layout"
REF_NAME = "org.opencontainers.image.ref.name"  # an image's name in the layout's index.json
# The media types whose blobs name other blobs (OCI image spec 1.1; Docker's v2 schema 2).
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
IMAGES_OBJECT = "the release's images (the .images.zip beside the release zip)"
# The keys the OCI image spec (1.1) gives an image index and a descriptor: index.json may have
# no other (see check_images).
INDEX_KEYS = {"schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations"}
DESCRIPTOR_KEYS = {"mediaType", "artifactType", "digest", "size", "urls", "annotations", "platform"}
JSON_LIMIT = 1 << 22  # bytes: an index.json, an index or a manifest larger than 4 MiB is refused
MAX_MEMBERS = 10_000  # an image archive's tar members (a 10-platform image of 50 layers: ~520)
FIELDS = ("version", "project", "chart", "spec_sha256", "git_sha")


class ReleaseError(Exception):
    """The release does not meet the contract; the message says what to do."""


@dataclass(frozen=True)
class Image:
    name: str
    digest: str


def load(root: Path) -> dict[str, Any]:
    """The manifest, with its format checked (and nothing else yet)."""
    path = root / MANIFEST
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ReleaseError(f"{MANIFEST} is not a regular file in the release")
    if not path.is_file():
        raise ReleaseError(
            f"no {MANIFEST} in {root.resolve()}: this is not a pipelinegen release "
            "(its zip holds manifest.json, cdk/ and chart/ at the top)"
        )
    try:
        manifest = strict_json(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as error:
        raise ReleaseError(f"{MANIFEST} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise ReleaseError(f"{MANIFEST} is not a JSON object")
    if type(manifest.get("format")) is not int or manifest.get("format") != FORMAT:
        raise ReleaseError(
            f"{MANIFEST} has format {manifest.get('format')!r}, but this pipeline reads format "
            f"{FORMAT}: release with the pipelinegen version that generated this pipeline"
        )
    return manifest


def check_spec(manifest: dict[str, Any], expected: str) -> None:
    """The release was built from the spec this pipeline was synthesized from."""
    actual = manifest.get("spec_sha256")
    if not isinstance(actual, str) or not SHA256.fullmatch(actual):
        raise ReleaseError(f"{MANIFEST} has no valid spec_sha256 (64 hex digits): {actual!r}")
    if actual == expected:
        return
    version = manifest.get("version", "?")
    raise ReleaseError(
        f"release {version} was built from a spec with sha256 {actual}, but this pipeline was "
        f"synthesized from a spec with sha256 {expected}.\n"
        "The pipeline updated itself from this release's own cdk/ before this check, so the "
        "two differ only when the release's CDK app and its images and manifest were not "
        "compiled from the same pipeline.yaml (stale generated files were committed), or when "
        "an older execution was retried after a newer release had updated the pipeline.\n"
        "To fix: run `pipelinegen compile --check` in the repository at the release's commit. "
        "If it fails, run `pipelinegen compile`, commit the outputs and release again with a "
        "new tag. If it passes, run the pipeline on the latest release instead of retrying "
        "this execution."
    )


def images(manifest: dict[str, Any]) -> list[Image]:
    """The manifest's images, each field checked; the images themselves are not read."""
    release_version(manifest)
    listed = manifest.get("images")
    if not isinstance(listed, list) or not listed:
        raise ReleaseError(f"{MANIFEST} lists no images")
    found: list[Image] = []
    for entry in listed:
        if not isinstance(entry, dict):
            raise ReleaseError(f"{MANIFEST} has an image entry that is not an object: {entry!r}")
        name, digest = entry.get("name"), entry.get("digest")
        if not isinstance(name, str) or not IMAGE_NAME.fullmatch(name):
            raise ReleaseError(f"{MANIFEST} has an invalid image name {name!r}")
        if any(image.name == name for image in found):
            raise ReleaseError(f"{MANIFEST} lists image {name!r} twice")
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
            raise ReleaseError(f"{MANIFEST}: image {name!r} has an invalid digest {digest!r}")
        found.append(Image(name, digest))
    return found


def release_version(manifest: dict[str, Any]) -> str:
    """The release version, which becomes every image's tag: checked with the same rules the
    release workflow applied to the tag before it uploaded anything (release_version.py)."""
    version = manifest.get("version")
    if not isinstance(version, str):
        raise ReleaseError(f"{MANIFEST} has no version string: {version!r}")
    found = versions.explain(version)
    if found:
        raise ReleaseError(f"{MANIFEST}: " + "; ".join(found))
    return version


def check_layout(root: Path, manifest: dict[str, Any]) -> None:
    """The chart folder and every values file the manifest names are in the release."""
    chart = manifest.get("chart")
    if not isinstance(chart, str) or not (root / safe_path(chart) / "Chart.yaml").is_file():
        raise ReleaseError(f"{MANIFEST} chart {chart!r} is not a chart folder in the release")
    values = manifest.get("values")
    if not isinstance(values, list):
        raise ReleaseError(f"{MANIFEST} values is not a list")
    for path in values:
        if not isinstance(path, str) or not (root / safe_path(path)).is_file():
            raise ReleaseError(f"{MANIFEST} values file {path!r} is not in the release")


def dependencies(root: Path, manifest: dict[str, Any]) -> list[dict[str, str]]:
    """The chart dependencies packaged at release time, each archive checked against its digest
    (an older manifest without the list has none)."""
    listed = manifest.get("dependencies", [])
    if not isinstance(listed, list):
        raise ReleaseError(f"{MANIFEST} dependencies is not a list")
    for entry in listed:
        if not isinstance(entry, dict):
            raise ReleaseError(
                f"{MANIFEST} has a chart dependency that is not an object: {entry!r}"
            )
        fields: dict[str, Any] = {
            key: entry.get(key) for key in ("name", "version", "archive", "digest")
        }
        if not all(isinstance(v, str) and v and "\n" not in v for v in fields.values()):
            raise ReleaseError(f"{MANIFEST} has an invalid chart dependency: {entry!r}")
        path = root / safe_path(fields["archive"])
        if not path.is_file():
            raise ReleaseError(
                f"chart dependency {fields['name']} {fields['version']} ({fields['archive']}) "
                "is missing from the release: release again"
            )
        actual = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != fields["digest"]:
            raise ReleaseError(
                f"{fields['archive']} has digest {actual}, but {MANIFEST} says "
                f"{fields['digest']}: the release zip is inconsistent; release again"
            )
    return listed


def check_images(layout: Path, listed: list[Image]) -> None:
    """The images are one OCI image layout that names exactly the manifest's images, each by
    its ref name with the manifest's digest, and holds every blob each image reaches and no
    other: indexes and manifests with the bytes their digests name, configs and layers at the
    size their descriptors give (skopeo checks each layer's digest as it copies it). index.json
    is the one file no digest covers, so its keys are exactly those the OCI image spec gives it:
    skopeo's JSON reader (Go's) matches keys without regard to case, and takes the last of two
    spellings (`"Digest"`, or "manifests" with a long s, U+017F), which would let it read
    another image than this check approved."""
    if not layout.is_dir():
        raise ReleaseError(f"{IMAGES_OBJECT} are missing: no folder {layout}")
    check_files(layout)
    unexpected = sorted({path.name for path in layout.iterdir()} - {LAYOUT_FILE, INDEX, "blobs"})
    if unexpected:
        raise ReleaseError(f"{IMAGES_OBJECT} hold what an OCI image layout does not: {unexpected}")
    marker = _layout_json(layout, LAYOUT_FILE)
    if marker != {"imageLayoutVersion": "1.0.0"}:
        raise ReleaseError(f"{IMAGES_OBJECT}: {LAYOUT_FILE} is not an OCI image layout 1.0.0")
    index = _layout_json(layout, INDEX)
    if not isinstance(index, dict) or not set(index) <= INDEX_KEYS:
        raise ReleaseError(
            f"{IMAGES_OBJECT}: {INDEX} is not an image index (keys {sorted(INDEX_KEYS)})"
        )
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise ReleaseError(f"{IMAGES_OBJECT}: {INDEX} lists no images")
    named: dict[str, dict[str, Any]] = {}
    for entry in entries:
        annotations = entry.get("annotations") if isinstance(entry, dict) else None
        name = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
        if not isinstance(name, str) or name in named:
            raise ReleaseError(
                f"{IMAGES_OBJECT}: {INDEX} has an image without a name of its own: {entry!r}"
            )
        if not set(entry) <= DESCRIPTOR_KEYS:
            raise ReleaseError(
                f"{IMAGES_OBJECT}: {INDEX} describes image {name!r} with keys outside "
                f"{sorted(DESCRIPTOR_KEYS)}: {sorted(entry)}"
            )
        named[name] = entry
    expected = {image.name: image.digest for image in listed}
    extra = sorted(set(named) - set(expected))
    if extra:
        raise ReleaseError(f"{IMAGES_OBJECT} hold images {MANIFEST} does not list: {extra}")
    reached: set[str] = set()
    for image in listed:
        entry = named.get(image.name)
        if entry is None:
            raise ReleaseError(f"image {image.name!r} is missing from {IMAGES_OBJECT}")
        if entry.get("digest") != image.digest:
            raise ReleaseError(
                f"{IMAGES_OBJECT} name image {image.name!r} {entry.get('digest')}, but "
                f"{MANIFEST} says {image.digest}: they are not this release's images (each "
                "release uploads its images before its zip; another release in between replaced "
                "them): release again"
            )
        kind = entry.get("mediaType")
        if not isinstance(kind, str) or kind not in INDEX_TYPES | MANIFEST_TYPES:
            raise ReleaseError(
                f"image {image.name!r} in {IMAGES_OBJECT} is a {kind!r}, not an image index or "
                "manifest"
            )
        reached |= reachable(entry, functools.partial(_layout_blob, layout, image=image.name))
    blobs = layout / "blobs"
    stored = {f"sha256:{path.name}" for path in (blobs / "sha256").glob("*")}
    stray = sorted(stored - reached)
    stray += (
        [path.name for path in blobs.iterdir() if path.name != "sha256"] if blobs.is_dir() else []
    )
    if stray:
        raise ReleaseError(f"{IMAGES_OBJECT} hold blobs no image names: {stray[:3]}")


def _layout_json(layout: Path, name: str) -> Any:
    path = layout / name
    if not path.is_file():
        raise ReleaseError(f"{IMAGES_OBJECT} are not an OCI image layout: no {name}")
    if path.stat().st_size > JSON_LIMIT:
        raise ReleaseError(f"{IMAGES_OBJECT}: {name} is over {JSON_LIMIT} bytes")
    try:
        return strict_json(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as error:
        raise ReleaseError(f"{IMAGES_OBJECT}: {name} is not valid JSON: {error}") from None


def _layout_blob(layout: Path, digest: str, image: str) -> tuple[int, Callable[[], bytes]]:
    """The size of blob `digest` in the layout, and a reader of its bytes."""
    path = layout / "blobs" / "sha256" / digest[len("sha256:") :]
    if not path.is_file():
        raise ReleaseError(f"image {image!r}: blob {digest} is missing from {IMAGES_OBJECT}")
    return path.stat().st_size, path.read_bytes


def reachable(
    top: Any, blob: Callable[[str], tuple[int, Callable[[], bytes]]], depth: int = 8
) -> set[str]:
    """The digests of every blob the descriptor `top` reaches: `blob(digest)` gives a blob's
    size and a reader of its bytes. Each blob must have its descriptor's size; an index's or a
    manifest's bytes (read, at most JSON_LIMIT) must hash to its digest and are followed, at
    most `depth` levels down. ReleaseError names what does not hold."""
    seen: set[str] = set()
    pending = [(top, 0)]
    while pending:
        descriptor, level = pending.pop()
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        size = descriptor.get("size") if isinstance(descriptor, dict) else None
        kind = descriptor.get("mediaType") if isinstance(descriptor, dict) else None
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest) or type(size) is not int:
            raise ReleaseError(f"a descriptor without a valid digest and size: {descriptor!r}")
        if not isinstance(kind, str):
            raise ReleaseError(f"blob {digest}: its descriptor has no media type")
        if digest in seen:
            continue
        seen.add(digest)
        actual, read = blob(digest)
        if actual != size:
            raise ReleaseError(f"blob {digest} has {actual} bytes, not the {size} named")
        if kind not in INDEX_TYPES | MANIFEST_TYPES:
            continue
        if size > JSON_LIMIT or level >= depth:
            raise ReleaseError(f"blob {digest}: an index or manifest too large or too deep")
        data = read()
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ReleaseError(f"blob {digest} does not hold the bytes its name says")
        try:
            document = strict_json(data)
        except (UnicodeDecodeError, ValueError) as error:
            raise ReleaseError(f"blob {digest} is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise ReleaseError(f"blob {digest} is not a JSON object")
        if kind in INDEX_TYPES:
            children = document.get("manifests")
        else:
            layers = document.get("layers")
            children = [document.get("config"), *layers] if isinstance(layers, list) else None
        if not isinstance(children, list):
            raise ReleaseError(f"blob {digest} names no blobs")
        pending += [(child, level + 1) for child in children]
    return seen


def archive_digest(path: Path) -> str:
    """The digest of the one manifest or index an OCI archive's index.json names. The archive
    is a plain tar (as buildx and skopeo write it) of at most MAX_MEMBERS members, each a regular
    file or folder; its index.json at most JSON_LIMIT bytes."""
    try:
        with tarfile.open(path, "r:") as tar:
            members: list[tarfile.TarInfo] = []
            for member in tar:
                if len(members) == MAX_MEMBERS:
                    raise ReleaseError(f"{path.name} has over {MAX_MEMBERS} members")
                members.append(member)
            member = _index_member(path.name, members)
            if member.size > JSON_LIMIT:
                raise ReleaseError(f"{path.name}: index.json is over {JSON_LIMIT} bytes")
            data = tar.extractfile(member)
            index = strict_json(data.read()) if data else {}
    except (tarfile.TarError, OSError, ValueError, EOFError) as error:
        raise ReleaseError(f"{path.name} is not a readable OCI archive: {error}") from None
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or len(manifests) != 1:
        count = len(manifests) if isinstance(manifests, list) else 0
        raise ReleaseError(
            f"{path.name}: index.json names {count} images; a release archive holds exactly one"
        )
    digest = manifests[0].get("digest") if isinstance(manifests[0], dict) else None
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise ReleaseError(f"{path.name}: index.json has an invalid digest {digest!r}")
    return digest


def _index_member(archive: str, members: list[tarfile.TarInfo]) -> tarfile.TarInfo:
    """The archive's index.json. Every member must be a regular file or folder with a plain
    relative name, once: a second spelling of a name (`./index.json`, `a//b`) or a link would let
    this check approve one image while the copy reads another, and a sparse file reads as more
    bytes than the archive holds."""
    seen: set[str] = set()
    for member in members:
        name = member.name
        if (
            name != str(PurePosixPath(name))
            or name.startswith(("/", "./"))
            or ".." in name.split("/")
        ):
            raise ReleaseError(f"{archive}: member {name!r} is not a plain relative name")
        if name in seen:
            raise ReleaseError(f"{archive}: member {name!r} appears twice")
        if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE):
            raise ReleaseError(f"{archive}: member {name!r} is a link or a special file")
        seen.add(name)
    found = [member for member in members if member.name == INDEX]
    if not found:
        raise ReleaseError(f"{archive} is not an OCI archive: it has no {INDEX}")
    return found[0]


def strict_json(data: bytes) -> Any:
    """JSON that means one thing to every reader: UTF-8, no repeated keys, no NaN or Infinity,
    not nested deeper than Python's recursion allows (ValueError otherwise)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                raise ValueError(f"the key {key!r} appears twice")
            seen.add(key)
        return dict(items)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    except RecursionError:
        raise ValueError("it is nested too deeply") from None


def check_files(root: Path) -> None:
    """Every entry of the extracted release is a regular file or a folder: a link could make
    the check read one file and the deploy another, or reach outside the release."""
    for current, folders, files in os.walk(root):
        for name in sorted(folders + files):
            path = Path(current) / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file"
                raise ReleaseError(f"{path.relative_to(root)} in the release is {kind}")


def safe_path(path: str) -> PurePosixPath:
    """A relative path inside the release, or an error."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise ReleaseError(f"{MANIFEST} names a path outside the release: {path!r}")
    return pure


def verify(root: Path, expected_spec_sha256: str, layout: Path) -> list[Image]:
    """The whole contract check, in the order that gives the most useful first error."""
    if not SHA256.fullmatch(expected_spec_sha256):
        raise ReleaseError(f"the expected spec sha256 {expected_spec_sha256!r} is not 64 hex")
    check_files(root)
    manifest = load(root)
    check_spec(manifest, expected_spec_sha256)
    listed = images(manifest)
    check_layout(root, manifest)
    check_images(layout, listed)
    dependencies(root, manifest)
    return listed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(), help="the extracted release")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="the contract check")
    check.add_argument("--expected-spec-sha256", required=True)
    check.add_argument("--images", required=True, type=Path, help="the extracted images")
    listing = commands.add_parser("images", help="name and digest of each image, tab-separated")
    listing.add_argument("--images", required=True, type=Path, help="the extracted images")
    commands.add_parser(
        "digests",
        help="name and digest of each image, tab-separated, from manifest.json alone (the "
        "Helm actions read the release less its images, checked by the push action)",
    )
    commands.add_parser("dependencies", help="the chart's packaged dependencies, tab-separated")
    get = commands.add_parser("get", help="one field of the manifest")
    get.add_argument("field", choices=FIELDS)
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            listed = verify(args.root, args.expected_spec_sha256, args.images)
            count = f"{len(listed)} image{'s' if len(listed) != 1 else ''}"
            print(f"release {load(args.root)['version']}: contract check passed ({count})")
        elif args.command == "images":
            check_files(args.root)
            listed = images(load(args.root))
            check_images(args.images, listed)
            for image in listed:
                print(f"{image.name}\t{image.digest}")
        elif args.command == "digests":
            check_files(args.root)
            for image in images(load(args.root)):
                print(f"{image.name}\t{image.digest}")
        elif args.command == "dependencies":
            for entry in dependencies(args.root, load(args.root)):
                print(f"{entry['name']}\t{entry['version']}\t{entry['archive']}")
        else:
            manifest = load(args.root)
            value = manifest.get(args.field)
            if args.field == "version":
                value = release_version(manifest)
            elif args.field == "chart":
                check_layout(args.root, manifest)
            if not isinstance(value, str) or not value or "\n" in value:
                raise ReleaseError(f"{MANIFEST} has no valid {args.field}: {value!r}")
            print(value)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

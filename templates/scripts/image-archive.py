#!/usr/bin/env python3
"""One image archive, followed from the job that built it to every job that reads it.

The workflows run this (Python 3.9+, standard library only) on the OCI archive buildx writes
(`outputs: type=oci,dest=<image>.oci.tar`):

    python3 image-archive.py digest dist/images/api.oci.tar >>"$GITHUB_OUTPUT"
        archive-sha256=<hex>      the sha256 of the archive file: what every reader verifies
        index-digest=sha256:<hex> the digest of the one index or manifest index.json names:
                                  what the release records and the pipeline pushes
    python3 image-archive.py verify dist/images/api.oci.tar <hex>
        exit 1 unless the file's sha256 is <hex> (an empty <hex>: the producing job published
        none, also refused)
    python3 image-archive.py layout dist/images/api.oci.tar dist/scan/api
        extracts the archive as an OCI image layout in which each platform's manifest is
        reachable under its own name (`linux-amd64`, ...), and prints one `<layout>:<name>` a
        line, which `trivy image --input` scans

Why `layout`: Trivy reads an OCI image layout directory with `--input` (Trivy docs, "OCI Image
Layout", v0.17.2 on), picks an image by the `org.opencontainers.image.ref.name` annotation named
after a `:`, and otherwise descends into the first manifest only (pkg/fanal/image/oci.go,
`getOCIImage`): a multi-platform index would be scanned for one platform. The layout written
here names each platform's manifest in index.json, blobs untouched, so every platform that ships
is scanned. Only `oci-layout`, `index.json` and `blobs/sha256/<hex>` regular files are extracted,
each blob checked against its name: a crafted archive cannot write elsewhere or smuggle bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
HEX = re.compile(r"[0-9a-f]{64}")
BLOB = re.compile(r"blobs/sha256/([0-9a-f]{64})")
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"


class ArchiveError(Exception):
    """A problem with the archive; printed without a traceback."""


def main(argv: list[str]) -> int:
    arity = {"digest": 1, "verify": 2, "layout": 2}
    if len(argv) < 2 or arity.get(argv[1]) != len(argv) - 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[1] == "digest":
            lines = digest(argv[2])
        elif argv[1] == "verify":
            lines = verify(argv[2], argv[3])
        else:
            lines = layout(argv[2], argv[3])
        for line in lines:
            print(line)
    except (ArchiveError, OSError, tarfile.TarError, ValueError) as error:
        print(f"::error title=image archive refused::{error}", file=sys.stderr)
        return 1
    return 0


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks (constant memory whatever the archive's size)."""
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            sha.update(chunk)
    return sha.hexdigest()


def digest(archive: str) -> list[str]:
    """The two digests a build job publishes as its outputs, as `name=value` lines."""
    path = Path(archive)
    return [f"archive-sha256={file_sha256(path)}", f"index-digest={index_digest(path)}"]


def verify(archive: str, expected: str) -> list[str]:
    """Nothing, when the archive's sha256 is `expected`; ArchiveError otherwise."""
    path = Path(archive)
    if not HEX.fullmatch(expected):
        raise ArchiveError(
            f"{archive}: the job that built it published no sha256 ({expected!r}); "
            "an archive nobody vouched for is not used"
        )
    actual = file_sha256(path)
    if actual != expected:
        raise ArchiveError(
            f"{archive} has sha256 {actual}, but the job that built it published {expected}: "
            "this is not the archive that was built; it is not used"
        )
    return [f"image-archive: {archive} is the archive that was built (sha256 {actual})"]


def index_digest(path: Path) -> str:
    """The digest of the one index or manifest the archive's index.json names."""
    entry = _one_entry(_read_index(path), path)
    return str(entry["digest"])


def _read_index(path: Path) -> dict[str, Any]:
    with tarfile.open(path) as tar:
        members = [m for m in tar.getmembers() if m.name == "index.json"]
        if len(members) != 1 or not members[0].isfile():
            raise ArchiveError(f"{path}: not an OCI archive with one index.json")
        data = tar.extractfile(members[0])
        index = json.loads(data.read()) if data else None
    if not isinstance(index, dict):
        raise ArchiveError(f"{path}: index.json is not a JSON object")
    return index


def _one_entry(index: dict[str, Any], path: Path) -> dict[str, Any]:
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or len(manifests) != 1 or not isinstance(manifests[0], dict):
        raise ArchiveError(f"{path}: index.json must name exactly one image")
    value = manifests[0].get("digest")
    if not isinstance(value, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
        raise ArchiveError(f"{path}: index.json names an invalid digest {value!r}")
    return manifests[0]


def layout(archive: str, folder: str) -> list[str]:
    """Extract `archive` into `folder` (emptied first) and name each platform's manifest."""
    path, out = Path(archive), Path(folder)
    if out.exists():
        shutil.rmtree(out)
    (out / "blobs" / "sha256").mkdir(parents=True)
    with tarfile.open(path) as tar:
        for member in tar:
            _extract(tar, member, out, path)
    if not (out / "index.json").is_file():
        raise ArchiveError(f"{path}: not an OCI archive with one index.json")
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    if not isinstance(index, dict):
        raise ArchiveError(f"{path}: index.json is not a JSON object")
    entry = _one_entry(index, path)
    images = _platform_manifests(out, entry)
    for image in images:
        image["annotations"] = {REF_NAME: _platform_name(image.get("platform"))}
    named = {**index, "manifests": images}
    (out / "index.json").write_text(json.dumps(named, indent=2) + "\n", encoding="utf-8")
    return [f"{out}:{image['annotations'][REF_NAME]}" for image in images]


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, out: Path, path: Path) -> None:
    name = member.name
    if member.isdir() and name.rstrip("/") in {"blobs", "blobs/sha256"}:
        return
    blob = BLOB.fullmatch(name)
    if not member.isfile() or not (blob or name in {"oci-layout", "index.json"}):
        raise ArchiveError(f"{path}: unexpected member {name!r} in an OCI archive")
    source = tar.extractfile(member)
    target = out / name
    if source is None or target.exists():
        raise ArchiveError(f"{path}: member {name!r} is unreadable or named twice")
    sha = hashlib.sha256()
    with target.open("wb") as sink:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            sha.update(chunk)
            sink.write(chunk)
    if blob and sha.hexdigest() != blob.group(1):
        raise ArchiveError(f"{path}: blob {name} does not hold the bytes its name promises")


def _platform_manifests(out: Path, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The image manifests under `entry`: itself when it is one, else the index's entries that
    name a platform (buildx attestation manifests say `unknown/unknown`)."""
    if entry.get("mediaType") not in INDEX_TYPES:
        return [dict(entry)]
    blob = out / "blobs" / "sha256" / str(entry["digest"])[7:]
    if not blob.is_file():
        raise ArchiveError(f"the index {entry['digest']} is not in the archive")
    child = json.loads(blob.read_text(encoding="utf-8"))
    children = child.get("manifests") if isinstance(child, dict) else None
    if not isinstance(children, list):
        raise ArchiveError(f"the index {entry['digest']} lists no manifests")
    found = [
        dict(child)
        for child in children
        if isinstance(child, dict)
        and isinstance(child.get("platform"), dict)
        and child["platform"].get("os") != "unknown"
    ]
    if not found:
        raise ArchiveError(f"the index {entry['digest']} names no platform image")
    return found


def _platform_name(platform: Any) -> str:
    """`linux-amd64`, `linux-arm-v7`: a name trivy's `<layout>:<name>` can carry (no `/`)."""
    parts = [platform.get(key, "") for key in ("os", "architecture", "variant")]
    name = "-".join(str(part) for part in parts if part)
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise ArchiveError(f"an image names an unusual platform {platform!r}")
    return name


if __name__ == "__main__":
    sys.exit(main(sys.argv))

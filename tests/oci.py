"""Small real OCI images, for the release and pipeline script tests: an archive as buildx writes
one (`type=oci,dest=...`), and the release's images as package-release.py writes them (one OCI
image layout naming each image). Every blob is named by its real digest; every image shares one
base layer, as images built on one base image do."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BASE_LAYER = b"a base image's layer, shared by every image" * 64


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def image(name: str) -> tuple[dict[str, object], dict[str, bytes]]:
    """Image `name`: its manifest's descriptor and its blobs (digest → bytes)."""
    layer = _blob(f"the {name} layer".encode())
    base = _blob(BASE_LAYER)
    config = _blob(json.dumps({"architecture": "amd64", "os": "linux", "name": name}).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config[0],
            "size": len(config[1]),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": len(b)}
            for d, b in (base, layer)
        ],
    }
    top = _blob(json.dumps(manifest).encode())
    descriptor = {"mediaType": MANIFEST, "digest": top[0], "size": len(top[1])}
    return descriptor, dict([base, layer, config, top])


def digest_of(name: str) -> str:
    """The digest of image `name`'s manifest: what a release records for it."""
    return str(image(name)[0]["digest"])


def _files(descriptors: list[dict[str, object]], blobs: dict[str, bytes]) -> dict[str, bytes]:
    index = {"schemaVersion": 2, "manifests": descriptors}
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": json.dumps(index).encode(),
    }
    for digest, data in blobs.items():
        files[f"blobs/sha256/{digest.removeprefix('sha256:')}"] = data
    return files


def oci_archive(path: Path, name: str) -> None:
    """Image `name` as an OCI archive (a tarred OCI image layout whose index.json names it)."""
    descriptor, blobs = image(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for member, data in _files([descriptor], blobs).items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def oci_layout(folder: Path, names: list[str]) -> None:
    """The release's images, extracted: one OCI image layout naming each image by its ref name."""
    descriptors, blobs = [], {}
    for name in names:
        descriptor, own = image(name)
        descriptors.append({**descriptor, "annotations": {REF_NAME: name}})
        blobs.update(own)
    for member, data in _files(descriptors, blobs).items():
        (folder / member).parent.mkdir(parents=True, exist_ok=True)
        (folder / member).write_bytes(data)

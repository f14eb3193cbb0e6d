"""Fake OCI image archives, as buildx writes them, for the release and pipeline script tests."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path


def oci_archive(path: Path, digest: str) -> None:
    """A minimal OCI image layout tarball whose index.json names one manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": 100}
        ],
    }
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", json.dumps(index).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

"""image-archive.py on archives an attacker would craft: it reads, verifies and lays out only
what an OCI archive holds, and refuses the rest with a message, never a traceback."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.render.test_release_artifacts import real_archive

SCRIPT = ROOT / "templates" / "scripts" / "image-archive.py"


def archive_tool(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def crafted(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for member in members:
            content = data.get(member.name)
            if content is not None:
                member.size = len(content)
            tar.addfile(member, io.BytesIO(content) if content is not None else None)
    return path


def test_digest_names_the_file_and_its_index(tmp_path: Path) -> None:
    archive = tmp_path / "api.oci.tar"
    real_archive(archive, "api", ["linux/amd64", "linux/arm64"])
    result = archive_tool("digest", archive, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sha, index = result.stdout.splitlines()
    assert sha == f"archive-sha256={hashlib.sha256(archive.read_bytes()).hexdigest()}"
    assert index.startswith("index-digest=sha256:") and len(index) == len("index-digest=") + 71


@pytest.mark.parametrize("expected", ["", "0" * 64, "not-hex"])
def test_verify_refuses_another_or_no_digest(tmp_path: Path, expected: str) -> None:
    archive = tmp_path / "api.oci.tar"
    real_archive(archive, "api", ["linux/amd64"])
    result = archive_tool("verify", archive, expected, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("::error title=image archive refused::")
    assert "Traceback" not in result.stderr


def test_layout_names_each_platform(tmp_path: Path) -> None:
    archive = tmp_path / "api.oci.tar"
    real_archive(archive, "api", ["linux/amd64", "linux/arm64", "linux/arm/v7"])
    result = archive_tool("layout", archive, "scan/api", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "scan/api:linux-amd64",
        "scan/api:linux-arm64",
        "scan/api:linux-arm-v7",
    ]


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


HOSTILE = {
    "a path out of the layout": ([_member("../evil")], {"../evil": b"x"}, "unexpected member"),
    "an absolute path": ([_member("/tmp/evil")], {"/tmp/evil": b"x"}, "unexpected member"),
    "a link": (
        [_member("index.json", tarfile.SYMTYPE, "/etc/passwd")],
        {},
        "unexpected member 'index.json'",
    ),
    "a blob that lies": (
        [_member(f"blobs/sha256/{'a' * 64}")],
        {f"blobs/sha256/{'a' * 64}": b"not what the name says"},
        "does not hold the bytes its name promises",
    ),
    "an index that is not JSON": ([_member("index.json")], {"index.json": b"{"}, "refused::"),
    "an index that is a list": ([_member("index.json")], {"index.json": b"[]"}, "JSON object"),
    "no index": ([_member("oci-layout")], {"oci-layout": b"{}"}, "one index.json"),
    "a name twice": (
        [_member("oci-layout"), _member("oci-layout")],
        {"oci-layout": b"{}"},
        "named twice",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_layout_refuses_a_crafted_archive(tmp_path: Path, case: str) -> None:
    members, data, message = HOSTILE[case]
    archive = crafted(tmp_path / "evil.oci.tar", members, data)
    result = archive_tool("layout", archive, "scan/evil", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "evil").exists()


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo (scripts/test)")
def test_a_real_oci_tool_reads_each_platform_of_the_layout(tmp_path: Path) -> None:
    """skopeo's `oci:<dir>:<ref>` transport picks an image by the same annotation Trivy reads
    (`org.opencontainers.image.ref.name`): each platform's manifest, byte for byte, and a copy
    that checks every blob it reads against its digest."""
    archive = tmp_path / "api.oci.tar"
    real_archive(archive, "api", ["linux/amd64", "linux/arm64"])
    refs = archive_tool("layout", archive, "scan/api", cwd=tmp_path).stdout.splitlines()
    index = json.loads((tmp_path / "scan" / "api" / "index.json").read_text())
    for ref, entry in zip(refs, index["manifests"], strict=True):
        raw = subprocess.run(
            ["skopeo", "inspect", "--raw", f"oci:{tmp_path / ref}"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == entry["digest"]
        copied = tmp_path / "copies" / ref.rpartition(":")[2]
        copied.parent.mkdir(exist_ok=True)
        subprocess.run(
            ["skopeo", "copy", "--quiet", f"oci:{tmp_path / ref}", f"dir:{copied}"],
            capture_output=True,
            check=True,
            timeout=60,
        )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_digest_refuses_a_crafted_archive(tmp_path: Path, case: str) -> None:
    members, data, _ = HOSTILE[case]
    archive = crafted(tmp_path / "evil.oci.tar", members, data)
    result = archive_tool("digest", archive, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("::error title=image archive refused::"), result.stderr

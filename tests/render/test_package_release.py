"""The generated packaging script, run for real on fake OCI archives: it must produce exactly the
handoff zip the contract describes, byte for byte the same every time."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pipelinegen import naming
from tests.conftest import ROOT
from tests.oci import BASE_LAYER, REF_NAME, digest_of, oci_archive


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The full example, with a CDK app folder (and build debris the zip must leave out)."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "full", root)
    cdk = root / naming.CDK_APP_DIR
    (cdk / "cdk.out").mkdir(parents=True)
    (cdk / "app.py").write_text("print('app')\n")
    (cdk / "cdk.out" / "junk.json").write_text("{}")
    (cdk / "__pycache__").mkdir()
    (cdk / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    for name in ("api", "worker", "web"):
        oci_archive(root / "dist" / "images" / f"{name}.oci.tar", name)
    return root


def package(
    root: Path, out: str = "dist/release.zip", version: str = "v1.2.3"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            naming.PACKAGE_SCRIPT,
            "--plan",
            naming.RELEASE_PLAN,
            "--images",
            "dist/images",
            "--out",
            out,
            "--images-out",
            out.removesuffix(".zip") + ".images.zip",
        ],
        cwd=root,
        env={**os.environ, "RELEASE_VERSION": version, "GIT_SHA": "f" * 40},
        capture_output=True,
        text=True,
        check=False,
    )


def test_zip_follows_the_handoff_contract(repo: Path) -> None:
    result = package(repo)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(repo / "dist" / "release.zip") as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    spec_sha = hashlib.sha256((repo / "pipeline.yaml").read_bytes()).hexdigest()
    assert names == sorted(names)
    assert {
        "manifest.json",
        "cdk/app.py",
        "chart/deploy/helm/platform/Chart.yaml",
        "chart/deploy/helm/platform/templates/api.yaml",
        "chart/deploy/helm/values-prod.yaml",
    } <= set(names)
    assert not [n for n in names if n.startswith("images/")]  # they have a zip of their own
    assert not [n for n in names if "cdk.out" in n or "__pycache__" in n]
    assert manifest == {
        "format": naming.RELEASE_FORMAT,
        "project": "acme-platform",
        "version": "v1.2.3",
        "git_sha": "f" * 40,
        "spec_sha256": spec_sha,
        "images": [
            {
                "name": "api",
                "platforms": ["linux/amd64", "linux/arm64"],
                "digest": digest_of("api"),
            },
            {
                "name": "worker",
                "platforms": ["linux/amd64", "linux/arm64"],
                "digest": digest_of("worker"),
            },
            {"name": "web", "platforms": ["linux/amd64"], "digest": digest_of("web")},
        ],
        "chart": "chart/deploy/helm/platform",
        "values": [
            "chart/deploy/helm/values-dev.yaml",
            "chart/deploy/helm/values-prod.yaml",
            "chart/deploy/helm/values-staging.yaml",
        ],
        "dependencies": [],
    }


def test_the_images_are_one_oci_layout_with_each_blob_once(repo: Path) -> None:
    """Three images built on one base image: the layout names each by its ref name, holds the
    base layer once (it was once per image), and every blob is what its name says."""
    assert package(repo).returncode == 0
    with zipfile.ZipFile(repo / "dist" / "release.images.zip") as layout:
        names = layout.namelist()
        index = json.loads(layout.read("index.json"))
        blobs = {n: layout.read(n) for n in names if n.startswith("blobs/")}
        stored = {info.filename: info.compress_type for info in layout.infolist()}
    assert names[:2] == ["index.json", "oci-layout"] and names[2:] == sorted(names[2:])
    assert [(m["annotations"][REF_NAME], m["digest"]) for m in index["manifests"]] == [
        (name, digest_of(name)) for name in ("api", "worker", "web")
    ]
    base = "blobs/sha256/" + hashlib.sha256(BASE_LAYER).hexdigest()
    assert names.count(base) == 1
    assert len(blobs) == 1 + 3 * 3  # the base layer; each image's layer, config and manifest
    for name, data in blobs.items():
        assert name == "blobs/sha256/" + hashlib.sha256(data).hexdigest()
        assert stored[name] == zipfile.ZIP_STORED


def test_a_blob_that_is_not_what_its_name_says_is_never_packaged(repo: Path) -> None:
    path = repo / "dist" / "images" / "web.oci.tar"
    with tarfile.open(path) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    layer = "blobs/sha256/" + hashlib.sha256(b"the web layer").hexdigest()
    layout_with(path, [(n, d.upper() if n == layer else d) for n, d in members])
    result = package(repo)
    assert result.returncode == 1
    assert "does not hold the bytes its name promises" in result.stderr
    assert not (repo / "dist/release.zip").exists()
    assert not (repo / "dist/release.images.zip").exists()


def test_same_inputs_same_bytes(repo: Path) -> None:
    assert package(repo, "dist/a.zip").returncode == 0
    assert package(repo, "dist/b.zip").returncode == 0
    assert (repo / "dist/a.zip").read_bytes() == (repo / "dist/b.zip").read_bytes()


def test_missing_or_broken_archive_is_a_clear_error(repo: Path) -> None:
    (repo / "dist/images/web.oci.tar").unlink()
    result = package(repo)
    assert (result.returncode, result.stderr) == (
        1,
        "package-release: missing image archive dist/images/web.oci.tar\n",
    )
    (repo / "dist/images/web.oci.tar").write_text("not a tar")
    result = package(repo)
    assert result.returncode == 1 and "is not a readable OCI archive" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_version_the_pipeline_would_refuse_is_never_packaged(repo: Path) -> None:
    """Packaged locally or in the workflow, by the CDK app's own release_version.py."""
    result = package(repo, version="v1.2.3+build.7")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "package-release: release version 'v1.2.3+build.7' is not valid: '+' cannot be in an "
        "image tag"
    )
    assert not (repo / "dist/release.zip").exists()
    assert not (repo / "dist/release.images.zip").exists()
    (repo / naming.RELEASE_VERSION_SCRIPT).unlink()
    result = package(repo)
    assert result.returncode == 1
    assert f"missing {naming.RELEASE_VERSION_SCRIPT}: run `pipelinegen compile`" in result.stderr


def layout_with(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


INDEX = json.dumps({"manifests": [{"digest": "sha256:" + "a" * 64}]}).encode()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            [("./oci-layout", b"{}"), ("./index.json", INDEX)],
            "member './oci-layout' is not a plain relative name; write the archive with plain "
            "member names, as buildah and skopeo do (`tar -cf <archive> -C <layout> oci-layout "
            "index.json blobs`, not `tar -cf <archive> -C <layout> .`)",
        ),
        (
            [("index.json", INDEX), ("index.json", INDEX)],
            "member 'index.json' appears twice",
        ),
        (
            [("index.json", json.dumps({"manifests": [{"digest": "sha256:AB"}]}).encode())],
            "index.json has an invalid digest 'sha256:AB'",
        ),
    ],
)
def test_an_archive_the_contract_check_would_refuse_is_never_packaged(
    repo: Path, members: list[tuple[str, bytes]], message: str
) -> None:
    """The packager reads each archive by the contract check's own rules (release.py), so a
    release the pipeline would stop at its first stage is refused before the upload."""
    layout_with(repo / "dist/images/web.oci.tar", members)
    result = package(repo)
    assert (result.returncode, result.stderr) == (
        1,
        f"package-release: dist/images/web.oci.tar: {message}\n",
    )
    assert not (repo / "dist/release.zip").exists()


PEAK_LIMIT_MB = 100
ARCHIVE_MB = 300


CONFIG = b'{"architecture": "amd64", "os": "linux"}'
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _large_archive(path: Path, megabytes: int) -> None:
    """An OCI archive with one layer blob of `megabytes` MB of random (incompressible) bytes,
    written a megabyte at a time, as buildx writes a large image."""
    chunk = 1 << 20
    blob = path.with_suffix(".blob")
    layer = hashlib.sha256()
    with blob.open("wb") as file:
        for _ in range(megabytes):
            data = os.urandom(chunk)
            layer.update(data)
            file.write(data)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{hashlib.sha256(CONFIG).hexdigest()}",
                "size": len(CONFIG),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer.hexdigest()}",
                    "size": megabytes * chunk,
                }
            ],
        }
    ).encode()
    digest = f"sha256:{hashlib.sha256(manifest).hexdigest()}"
    descriptor = {"mediaType": MANIFEST, "digest": digest, "size": len(manifest)}
    index = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", index),
            (f"blobs/sha256/{digest.split(':')[1]}", manifest),
            (f"blobs/sha256/{hashlib.sha256(CONFIG).hexdigest()}", CONFIG),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.add(blob, arcname=f"blobs/sha256/{layer.hexdigest()}")
    blob.unlink()


def test_packaging_a_300_mb_archive_peaks_under_100_mb(repo: Path) -> None:
    """The packager streams archives: its peak resident memory, read by getrusage in a parent
    process of its own (RUSAGE_CHILDREN: the largest child's maxrss, in KiB on Linux), stays
    under the bar with a 300 MB archive in the release (it was about 313 MB)."""
    _large_archive(repo / "dist" / "images" / "api.oci.tar", ARCHIVE_MB)
    argv = [
        sys.executable,
        naming.PACKAGE_SCRIPT,
        *("--plan", naming.RELEASE_PLAN, "--images", "dist/images", "--out", "dist/release.zip"),
        *("--images-out", "dist/release.images.zip"),
    ]
    probe = (
        "import resource, subprocess, sys\n"
        f"status = subprocess.run({argv!r}).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=repo,
        env={**os.environ, "RELEASE_VERSION": "v1.2.3", "GIT_SHA": "f" * 40},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split()[-1]) / 1024
    with zipfile.ZipFile(repo / "dist" / "release.images.zip") as layout:
        assert max(info.file_size for info in layout.infolist()) == ARCHIVE_MB << 20
    assert peak_mb < PEAK_LIMIT_MB, f"packaging peaked at {peak_mb:.0f} MB"


def test_only_the_blobs_an_image_reaches_are_packaged(repo: Path) -> None:
    """A blob the image does not name (another image's, or a padding of zeros) never reaches
    the release: the layout holds what the images reach and nothing else."""
    path = repo / "dist" / "images" / "web.oci.tar"
    stray = b"not part of the web image"
    name = "blobs/sha256/" + hashlib.sha256(stray).hexdigest()
    with tarfile.open(path, "a") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(stray)
        tar.addfile(info, io.BytesIO(stray))
    assert package(repo).returncode == 0
    with zipfile.ZipFile(repo / "dist" / "release.images.zip") as layout:
        assert name not in layout.namelist()


def test_a_sparse_or_compressed_archive_is_refused_without_a_traceback(repo: Path) -> None:
    """A 10 KB sparse member can read as gigabytes; buildx and skopeo write plain tars."""
    path = repo / "dist" / "images" / "web.oci.tar"
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for member, data in members:
            if member.name == "index.json":
                member.type = tarfile.GNUTYPE_SPARSE
            tar.addfile(member, io.BytesIO(data))
    result = package(repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "member 'index.json' is a link or a special file" in result.stderr
    with tarfile.open(path, "w:gz") as tar:
        for member, data in members:
            member.type = tarfile.REGTYPE
            tar.addfile(member, io.BytesIO(data))
    result = package(repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is not a readable OCI archive" in result.stderr


def test_a_zip_that_cannot_be_put_in_place_leaves_neither(repo: Path) -> None:
    (repo / "dist" / "release.zip").mkdir(parents=True)  # the release zip's rename fails
    result = package(repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not (repo / "dist" / "release.images.zip").exists()
    assert not list((repo / "dist").glob(".*.partial"))

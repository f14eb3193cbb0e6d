"""The contract check reads a release made elsewhere: whole-string patterns, one spelling per
archive member (when packaged), regular files only, and JSON of the right types."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pipelinegen.chart.render import shipped
from tests.cdk.conftest import (
    IMAGES_DIR,
    REGISTRY,
    SPEC_SHA256,
    digest_of,
    run_script,
    write_manifest,
)

ENV = {"EXPECTED_SPEC_SHA256": SPEC_SHA256, "IMAGES_DIR": IMAGES_DIR}


def _verify(release: Path) -> tuple[int, str]:
    result = run_script("verify-release.sh", cwd=release, env=ENV)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def _edit(release: Path, change: Any) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    change(manifest)
    write_manifest(release, manifest)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(version="v1.2.3\n"), "release version 'v1.2.3\\n' is not valid"),
        (lambda m: m["images"][0].update(digest=digest_of("api") + "\n"), "invalid digest"),
        (lambda m: m["images"][0].update(name="api\n"), "invalid image name 'api\\n'"),
        (lambda m: m.update(spec_sha256=SPEC_SHA256 + "\n"), "no valid spec_sha256"),
        (lambda m: m.update(format=True), "has format True"),
        (lambda m: m.update(format=1.0), "has format 1.0"),
        (lambda m: m.update(images={"api": 1}), "lists no images"),
        (lambda m: m.update(values="chart/deploy/helm/common.yaml"), "values is not a list"),
    ],
)
def test_patterns_match_whole_strings_and_types_are_checked(
    release: Path, change: Any, message: str
) -> None:
    _edit(release, change)
    code, err = _verify(release)
    assert code == 1 and message in err


def test_a_repeated_key_in_the_manifest_is_refused(release: Path) -> None:
    text = (release / "manifest.json").read_text()
    (release / "manifest.json").write_text(
        text.replace('"format": 2,', '"format": 2, "format": 2,')
    )
    code, err = _verify(release)
    assert code == 1 and "the key 'format' appears twice" in err


def _archive(path: Path, members: list[tuple[str, bytes | None, bytes]]) -> None:
    """A tar of (name, data or None for a symlink, link target) members."""
    with tarfile.open(path, "w") as tar:
        for name, data, target in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, target.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def _index(digest: str) -> bytes:
    return json.dumps({"schemaVersion": 2, "manifests": [{"digest": digest}]}).encode()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            [
                ("index.json", _index(digest_of("api")), b""),
                ("./index.json", _index(digest_of("x")), b""),
            ],
            "member './index.json' is not a plain relative name",
        ),
        ([("./index.json", _index(digest_of("api")), b"")], "is not a plain relative name"),
        (
            [
                ("index.json", _index(digest_of("api")), b""),
                ("index.json", _index(digest_of("x")), b""),
            ],
            "member 'index.json' appears twice",
        ),
        ([("index.json", None, b"/etc/passwd")], "member 'index.json' is a link or a special file"),
        ([("blobs//x", b"", b""), ("index.json", _index(digest_of("api")), b"")], "'blobs//x'"),
    ],
)
def test_archive_members_have_one_spelling_and_are_regular(
    tmp_path: Path, members: list[tuple[str, bytes | None, bytes]], message: str
) -> None:
    """What the packager reads each built archive with (release.py's archive_digest)."""
    contract = shipped("release")
    _archive(tmp_path / "api.oci.tar", members)
    with pytest.raises(contract.ReleaseError, match=re.escape(message)):
        contract.archive_digest(tmp_path / "api.oci.tar")


def test_links_and_special_files_in_the_release_are_refused(release: Path) -> None:
    values = release / "chart" / "deploy" / "helm" / "values-prod.yaml"
    values.unlink()
    values.symlink_to("/etc/passwd")
    code, err = _verify(release)
    assert (
        code == 1 and "chart/deploy/helm/values-prod.yaml in the release is a symbolic link" in err
    )
    values.unlink()
    os.mkfifo(values)
    code, err = _verify(release)
    assert code == 1 and "values-prod.yaml in the release is a special file" in err


def test_a_linked_blob_is_refused(release: Path, tmp_path: Path) -> None:
    index = release.parent / "images" / "index.json"
    index.rename(tmp_path / "index.json")
    index.symlink_to(tmp_path / "index.json")
    code, err = _verify(release)
    assert code == 1 and "index.json in the release is a symbolic link" in err


# --- the images zip as someone who can replace it writes it ----------------------------------


def _layout_index(release: Path) -> tuple[Path, dict[str, Any]]:
    path = release.parent / "images" / "index.json"
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    "edit",
    [
        # Go's JSON reader (skopeo's) matches keys without regard to case and takes the last.
        lambda index: index["manifests"][0].update(Digest=digest_of("web")),
        # ... and folds Unicode: "manifests" with a long s (U+017F) is "manifests" to it.
        lambda index: index.update({"manife\u017fts": [index["manifests"][1]]}),
    ],
    ids=["descriptor-key-cased", "index-key-folded"],
)
def test_a_second_spelling_of_a_key_in_index_json_is_refused(release: Path, edit: Any) -> None:
    path, index = _layout_index(release)
    edit(index)
    path.write_text(json.dumps(index))
    code, err = _verify(release)
    assert code == 1 and "keys" in err


def test_a_blob_no_image_names_is_refused(release: Path) -> None:
    stray = b"another image's layer"
    (
        release.parent / "images" / "blobs" / "sha256" / hashlib.sha256(stray).hexdigest()
    ).write_bytes(stray)
    code, err = _verify(release)
    assert code == 1 and "hold blobs no image names" in err


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("images", "[" * 100_000 + "]" * 100_000),
        ("manifest", "[" * 100_000 + "]" * 100_000),
    ],
)
def test_json_nested_too_deeply_is_an_error_line(release: Path, where: str, text: str) -> None:
    path = (
        release.parent / "images" / "index.json" if where == "images" else release / "manifest.json"
    )
    path.write_text(text)
    code, err = _verify(release)
    assert code == 1 and "nested too deeply" in err


def test_a_dependency_that_is_not_an_object_is_an_error_line(release: Path) -> None:
    _edit(release, lambda m: m.update(dependencies=[1]))
    code, err = _verify(release)
    assert code == 1 and "a chart dependency that is not an object: 1" in err


def test_skopeo_reading_another_image_stops_the_push_before_it(release: Path, fakes: Any) -> None:
    """The last line of defence against any parser difference: the image skopeo itself reads
    for a name must have the release's digest before anything is copied."""
    fakes.configure(layout_reads={"api": "{}"})
    env = {
        **ENV,
        "ECR_REGISTRY": REGISTRY,
        "ECR_PREFIX": "acme-platform",
        "AWS_REGION": "us-east-1",
    }
    result = run_script("verify-and-push.sh", cwd=release, env=env, fakes=fakes)
    assert result.returncode == 1
    assert "skopeo reads image api in ../images as sha256:44136fa355b3678a" in result.stderr
    assert not [argv for argv in fakes.argvs("skopeo") if "copy" in argv and "--help" not in argv]

#!/usr/bin/env python3
"""Package a release into the two zips that hand it over to AWS.

The release workflow runs this after building every image as an OCI archive; it runs locally
too (Python 3.9+, standard library only):

    RELEASE_VERSION=v1.2.3 GIT_SHA="$(git rev-parse HEAD)" python3 package-release.py \\
        --plan release-plan.json --images dist/images --out dist/release.zip \\
        --images-out dist/release.images.zip

It refuses a RELEASE_VERSION the pipeline would refuse, by the CDK app's own
release_version.py (the one definition of the version grammar, which the pipeline's contract
check imports too). The release zip holds manifest.json, cdk/ (the CDK app), chart/ (the chart
and the values files at their repository paths) and marketplace/ (usage instructions kept in a
file): everything but the images, which only the push and Marketplace actions read. The images
zip holds one OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) with every
image of the release, each named in index.json by its `org.opencontainers.image.ref.name`
annotation, and only the blobs each image reaches: a blob several images share (a common base
image's layers) is stored once. Every blob is checked against its name as it is copied.
Entries are sorted and timestamps fixed, so the same inputs always give the same bytes. Every
file is streamed into its zip in chunks of CHUNK bytes, so packaging runs in constant memory
whatever the archives weigh (a 300 MB archive peaks where a 3 MB one does:
tests/render/test_package_release.py measures it); each zip is written beside its path and both
are renamed into place when both are complete, so a failure leaves nothing partial.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import sys
import tarfile
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time in the bytes
SKIPPED = {"cdk.out", "__pycache__", ".venv", "node_modules"}
CHUNK = 1 << 20  # bytes read and written at a time
REF_NAME = "org.opencontainers.image.ref.name"  # an image's name in an OCI layout's index.json
BLOB = re.compile(r"blobs/sha256/([0-9a-f]{64})")
LAYOUT = {"imageLayoutVersion": "1.0.0"}  # the `oci-layout` file (OCI image layout spec 1.0)


class PackagingError(Exception):
    """A problem with the inputs; printed without a traceback."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, type=Path, help="release-plan.json")
    parser.add_argument("--images", required=True, type=Path, help="folder of <image>.oci.tar")
    parser.add_argument("--out", required=True, type=Path, help="the release zip to write")
    parser.add_argument(
        "--images-out", required=True, type=Path, help="the images zip (one OCI layout) to write"
    )
    parser.add_argument("--root", default=Path(), type=Path, help="the repository root")
    args = parser.parse_args()
    try:
        package(
            plan=json.loads(args.plan.read_text(encoding="utf-8")),
            images=args.images,
            root=args.root,
            out=args.out,
            images_out=args.images_out,
            version=_environment("RELEASE_VERSION"),
            git_sha=_environment("GIT_SHA"),
        )
    except (PackagingError, OSError, tarfile.TarError) as error:
        print(f"package-release: {error}", file=sys.stderr)
        return 1
    print(f"package-release: wrote {args.out} and {args.images_out}")
    return 0


def package(
    *,
    plan: dict[str, Any],
    images: Path,
    root: Path,
    out: Path,
    images_out: Path,
    version: str,
    git_sha: str,
) -> dict[str, Any]:
    """Write the release zip at `out` and the images zip at `images_out`; return the manifest."""
    scripts = root / plan["cdk"] / "scripts"
    check_version(scripts / "release_version.py", version)
    contract = _script(scripts / "release.py")
    archives: dict[str, Path] = {}
    described = []
    for image in plan["images"]:
        archive = images / f"{image['name']}.oci.tar"
        if not archive.is_file():
            raise PackagingError(f"missing image archive {archive}")
        archives[image["name"]] = archive
        digest = image_digest(contract, archive)
        declared = image.get("third_party", "")
        if declared and not declared.endswith(f"@{digest}"):
            raise PackagingError(
                f"{archive} holds {digest}, not the third-party image the spec declares "
                f"({declared}): it was not copied by its digest"
            )
        described.append({**image, "digest": digest})
    entries: dict[str, Path] = {}
    entries.update(_tree(root, root / plan["cdk"], "cdk"))
    entries.update(_tree(root, root / plan["chart"], f"chart/{plan['chart']}"))
    for values in plan["values"]:
        entries[f"chart/{values}"] = _file(root, root / values)
    for extra in plan.get("marketplace_files", []):
        entries[f"marketplace/{extra}"] = _file(root, root / extra)
    manifest = {
        "format": plan["format"],
        "project": plan["project"],
        "version": version,
        "git_sha": git_sha,
        "spec_sha256": plan["spec_sha256"],
        "images": described,
        "chart": f"chart/{plan['chart']}",
        "values": [f"chart/{values}" for values in plan["values"]],
        "dependencies": dependencies(root / plan["chart"], f"chart/{plan['chart']}"),
    }
    text = (json.dumps(manifest, indent=2) + "\n").encode()
    partials = {path: path.with_name(f".{path.name}.partial") for path in (out, images_out)}
    try:
        for path in partials:
            path.parent.mkdir(parents=True, exist_ok=True)
        _write_zip(partials[out], {"manifest.json": text, **entries})
        _write_layout(partials[images_out], archives, described, contract)
        _rename_both(partials)
    finally:
        for partial in partials.values():
            partial.unlink(missing_ok=True)
    return manifest


def check_version(rules: Path, version: str) -> None:
    """Refuse a version by the rules in `rules` (the CDK app's release_version.py)."""
    problems: list[str] = _script(rules).explain(version)
    if problems:
        raise PackagingError("; ".join(problems))


def _script(path: Path) -> Any:
    """A module of the CDK app's scripts (release_version.py, release.py), loaded from `path`:
    the pipeline's own rules, so nothing is packaged that its contract check would refuse."""
    loaded = importlib.util.spec_from_file_location(path.stem, path)
    if not path.is_file() or loaded is None or loaded.loader is None:
        raise PackagingError(f"missing {path}: run `pipelinegen compile`")
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # release.py imports release_version beside it
    module = importlib.util.module_from_spec(loaded)
    sys.modules[path.stem] = module  # as an import would (dataclasses look it up there)
    loaded.loader.exec_module(module)
    return module


def dependencies(chart: Path, prefix: str) -> list[dict[str, str]]:
    """The chart's dependencies as `helm dependency build` packaged them into charts/ (remote
    ones at the versions Chart.lock pins, `file://` ones from wherever they are in the
    repository): name and version from each archive's Chart.yaml, and the archive's digest,
    which the pipeline's contract check verifies."""
    found = []
    for archive in sorted((chart / "charts").glob("*.tgz")):
        meta = _chart_meta(archive)
        found.append(
            {
                "name": meta["name"],
                "version": meta["version"],
                "archive": f"{prefix}/charts/{archive.name}",
                "digest": "sha256:" + _sha256(archive),
            }
        )
    return found


def _sha256(path: Path) -> str:
    """The file's sha256 (hex), read CHUNK bytes at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _chart_meta(archive: Path) -> dict[str, str]:
    """name and version from the top-level keys of a packaged chart's <name>/Chart.yaml (as
    `helm package` writes it: plain `key: value` lines)."""
    try:
        with tarfile.open(archive) as tar:
            member = next(
                (m for m in tar.getmembers() if re.fullmatch(r"[^/]+/Chart\.yaml", m.name)), None
            )
            data = tar.extractfile(member) if member else None
            text = data.read().decode() if data else ""
    except (tarfile.TarError, OSError, UnicodeDecodeError) as error:
        raise PackagingError(f"{archive} is not a packaged chart: {error}") from None
    meta = {}
    for key in ("name", "version"):
        match = re.search(rf"^{key}:\s*['\"]?([^'\"\s#]+)", text, re.MULTILINE)
        if not match:
            raise PackagingError(f"{archive} has no {key} in its Chart.yaml")
        meta[key] = match.group(1)
    return meta


def image_digest(contract: Any, archive: Path) -> str:
    """The digest of the archive's top-level manifest or index (from its index.json): what the
    pipeline pushes with --preserve-digests and deploys by. Read by the contract check's own
    `archive_digest` (release.py), which refuses what the pipeline would: a member named twice
    or not plainly (`./index.json`), a link, not exactly one image, a malformed digest."""
    try:
        return str(contract.archive_digest(archive))
    except contract.ReleaseError as error:
        hint = ""
        if "not a plain relative name" in str(error):
            hint = (
                "; write the archive with plain member names, as buildah and skopeo do "
                "(`tar -cf <archive> -C <layout> oci-layout index.json blobs`, not "
                "`tar -cf <archive> -C <layout> .`)"
            )
        message = str(error)  # it names the archive by its file name: name it by its path
        if message.startswith(archive.name):
            message = str(archive) + message[len(archive.name) :]
        raise PackagingError(f"{message}{hint}") from None


def _tree(root: Path, folder: Path, prefix: str) -> dict[str, Path]:
    """Every file below `folder` (less SKIPPED), each checked by `_file`. A link to a folder is
    refused rather than followed or skipped: what is packaged is what the repository holds."""
    if not _inside(root, folder).is_dir():
        raise PackagingError(f"missing folder {folder}")
    found = {}
    for current, folders, files in os.walk(folder):
        here = Path(current)
        folders[:] = sorted(name for name in folders if name not in SKIPPED)
        for name in folders:
            if (here / name).is_symlink():
                raise PackagingError(f"{here / name} is a symbolic link to a folder: not packaged")
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(folder)
            found[f"{prefix}/{relative.as_posix()}"] = _file(root, path)
    return dict(sorted(found.items()))


def _file(root: Path, path: Path) -> Path:
    """`path` with its links followed, when that is a regular file inside the repository."""
    resolved = _inside(root, path)
    if not resolved.exists():
        raise PackagingError(f"missing file {path}")
    if not stat.S_ISREG(resolved.stat().st_mode):
        raise PackagingError(f"{path} is not a regular file (a FIFO, socket, device or folder)")
    return resolved


def _inside(root: Path, path: Path) -> Path:
    """`path` with every link followed; PackagingError when that leaves the repository (a link
    to /proc/self/environ would pack the job's environment, tokens and all, into the zip)."""
    top, resolved = root.resolve(), path.resolve()
    if resolved != top and top not in resolved.parents:
        raise PackagingError(f"{path} leads outside the repository ({resolved}): not packaged")
    return resolved


def _rename_both(partials: dict[Path, Path]) -> None:
    """Each complete partial file onto its path; when one cannot be, none stays renamed (a
    release zip without its images, or the other way round, is never left to upload)."""
    done: list[Path] = []
    try:
        for path, partial in partials.items():
            partial.replace(path)
            done.append(path)
    except OSError:
        for path in done:
            path.unlink(missing_ok=True)
        raise


def _write_zip(path: Path, entries: dict[str, Path | bytes]) -> None:
    """A zip of `entries` (name → file, or bytes), sorted, each streamed CHUNK bytes at a time."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(entries):
            content = entries[name]
            if isinstance(content, bytes):
                with archive.open(_info(name, 0o644), "w") as entry:
                    entry.write(content)
                continue
            mode = 0o755 if os.access(content, os.X_OK) else 0o644
            info = _info(name, mode)
            info.file_size = content.stat().st_size  # zipfile picks zip64 by it, up front
            with content.open("rb") as source, archive.open(info, "w") as entry:
                shutil.copyfileobj(source, entry, CHUNK)


def _write_layout(
    path: Path, archives: dict[str, Path], described: list[dict[str, Any]], contract: Any
) -> None:
    """One OCI image layout, zipped, holding every archive's image under its name: only the
    blobs the image reaches (the contract check's own `reachable`), each once (blobs are named
    by their digest, so two images' equal layers are one entry), each checked against its name
    while it is copied."""
    digests = {image["name"]: image["digest"] for image in described}
    with ExitStack() as stack:
        blobs: dict[str, tuple[tarfile.TarFile, tarfile.TarInfo, Path]] = {}
        descriptors: list[dict[str, Any]] = []
        for name, archive in archives.items():
            tar = stack.enter_context(tarfile.open(archive, "r:"))
            members = _blob_members(tar, archive)
            descriptor = _one_descriptor(tar, archive, contract.JSON_LIMIT)
            if descriptor.get("digest") != digests[name]:
                raise PackagingError(f"{archive}: its index.json changed while it was packaged")

            def blob(digest: str, tar: Any = tar, members: Any = members) -> tuple[int, Any]:
                member = members.get(f"blobs/sha256/{digest[len('sha256:') :]}")
                if member is None:
                    raise contract.ReleaseError(f"blob {digest} is missing from the archive")
                return member.size, lambda: _read(tar, member)

            try:
                reached = contract.reachable(descriptor, blob)
            except contract.ReleaseError as error:
                raise PackagingError(f"{archive}: {error}") from None
            for digest in sorted(reached):
                member = members[f"blobs/sha256/{digest[len('sha256:') :]}"]
                blobs.setdefault(member.name, (tar, member, archive))
            kept: dict[str, Any] = {
                key: descriptor[key] for key in ("mediaType", "digest", "size") if key in descriptor
            }
            descriptors.append({**kept, "annotations": {REF_NAME: name}})
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": descriptors,
        }
        with zipfile.ZipFile(path, "w") as layout:
            for name, content in (
                ("index.json", json.dumps(index, indent=2) + "\n"),
                ("oci-layout", json.dumps(LAYOUT) + "\n"),
            ):
                with layout.open(_info(name, 0o644), "w") as entry:
                    entry.write(content.encode())
            for name in sorted(blobs):
                tar, member, archive = blobs[name]
                info = _info(name, 0o644)
                info.file_size = member.size
                with layout.open(info, "w") as entry:
                    _copy_blob(tar, member, archive, entry)


def _blob_members(tar: tarfile.TarFile, archive: Path) -> dict[str, tarfile.TarInfo]:
    """The archive's blobs by name; anything but `oci-layout`, `index.json`, the blob folders
    and `blobs/sha256/<hex>` regular files is refused (a crafted archive smuggles nothing in;
    release.py's archive_digest has already bounded the member count)."""
    found = {}
    for member in tar.getmembers():
        name = member.name
        regular = member.type in (tarfile.REGTYPE, tarfile.AREGTYPE)
        if member.isdir() and name.rstrip("/") in {"blobs", "blobs/sha256"}:
            continue
        if regular and BLOB.fullmatch(name):
            found[name] = member
        elif not (regular and name in {"oci-layout", "index.json"}):
            raise PackagingError(f"{archive}: unexpected member {name!r} in an OCI archive")
    return found


def _one_descriptor(tar: tarfile.TarFile, archive: Path, limit: int) -> dict[str, Any]:
    """The one descriptor of the archive's index.json (release.py's archive_digest has already
    refused any other shape, and an index.json over `limit` bytes)."""
    member = tar.getmember("index.json")
    if member.size > limit:
        raise PackagingError(f"{archive}: index.json is over {limit} bytes")
    index = json.loads(_read(tar, member))
    return dict(index["manifests"][0])


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    data = tar.extractfile(member)
    return data.read() if data else b""


def _copy_blob(
    tar: tarfile.TarFile, member: tarfile.TarInfo, archive: Path, sink: IO[bytes]
) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise PackagingError(f"{archive}: member {member.name!r} is unreadable")
    sha = hashlib.sha256()
    for chunk in iter(lambda: source.read(CHUNK), b""):
        sha.update(chunk)
        sink.write(chunk)
    if "blobs/sha256/" + sha.hexdigest() != member.name:
        raise PackagingError(
            f"{archive}: blob {member.name} does not hold the bytes its name promises"
        )


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.external_attr = mode << 16
    # Image layers are compressed already; deflating them again costs time for nothing.
    info.compress_type = zipfile.ZIP_STORED if name.startswith("blobs/") else zipfile.ZIP_DEFLATED
    return info


def _environment(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"package-release: set {name}")
    return value


if __name__ == "__main__":
    sys.exit(main())

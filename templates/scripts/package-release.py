#!/usr/bin/env python3
"""Package a release into the zip that hands it over to AWS.

The release workflow runs this after building every image as an OCI archive; it runs locally
too (Python 3.9+, standard library only):

    RELEASE_VERSION=v1.2.3 GIT_SHA="$(git rev-parse HEAD)" python3 package-release.py \\
        --plan release-plan.json --images dist/images --out dist/release.zip

It refuses a RELEASE_VERSION the pipeline would refuse, by the CDK app's own
release_version.py (the one definition of the version grammar, which the pipeline's contract
check imports too). The zip holds manifest.json, images/<image>.oci.tar, cdk/ (the CDK app),
chart/ (the chart and the values files at their repository paths) and marketplace/ (usage
instructions kept in a file). Entries are sorted and timestamps fixed, so the same inputs always
give the same bytes. Every file is streamed into the zip in chunks of CHUNK bytes, so packaging
runs in constant memory whatever the archives weigh (a 300 MB archive peaks where a 3 MB one
does: tests/render/test_package_release.py measures it); the zip is written beside `--out` and
renamed into place when complete, so a failure leaves nothing partial.
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
from pathlib import Path
from typing import Any

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time in the bytes
SKIPPED = {"cdk.out", "__pycache__", ".venv", "node_modules"}
CHUNK = 1 << 20  # bytes read and written at a time


class PackagingError(Exception):
    """A problem with the inputs; printed without a traceback."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, type=Path, help="release-plan.json")
    parser.add_argument("--images", required=True, type=Path, help="folder of <image>.oci.tar")
    parser.add_argument("--out", required=True, type=Path, help="the zip to write")
    parser.add_argument("--root", default=Path(), type=Path, help="the repository root")
    args = parser.parse_args()
    try:
        package(
            plan=json.loads(args.plan.read_text(encoding="utf-8")),
            images=args.images,
            root=args.root,
            out=args.out,
            version=_environment("RELEASE_VERSION"),
            git_sha=_environment("GIT_SHA"),
        )
    except (PackagingError, OSError) as error:
        print(f"package-release: {error}", file=sys.stderr)
        return 1
    print(f"package-release: wrote {args.out}")
    return 0


def package(
    *, plan: dict[str, Any], images: Path, root: Path, out: Path, version: str, git_sha: str
) -> dict[str, Any]:
    """Write the zip at `out` and return its manifest."""
    scripts = root / plan["cdk"] / "scripts"
    check_version(scripts / "release_version.py", version)
    contract = _script(scripts / "release.py")
    entries: dict[str, Path] = {}
    described = []
    for image in plan["images"]:
        archive = images / f"{image['name']}.oci.tar"
        if not archive.is_file():
            raise PackagingError(f"missing image archive {archive}")
        entries[image["archive"]] = archive
        described.append({**image, "digest": image_digest(contract, archive)})
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
    _write_zip(out, manifest, entries)
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


def _write_zip(out: Path, manifest: dict[str, Any], entries: dict[str, Path]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            text = (json.dumps(manifest, indent=2) + "\n").encode()
            with archive.open(_info("manifest.json", 0o644), "w") as entry:
                entry.write(text)
            for name in sorted(entries):
                path = entries[name]
                mode = 0o755 if os.access(path, os.X_OK) else 0o644
                info = _info(name, mode)
                info.file_size = path.stat().st_size  # zipfile picks zip64 by it, up front
                with path.open("rb") as source, archive.open(info, "w") as entry:
                    shutil.copyfileobj(source, entry, CHUNK)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.external_attr = mode << 16
    # Image layers are compressed already; deflating them again costs time for nothing.
    info.compress_type = zipfile.ZIP_STORED if name.endswith(".tar") else zipfile.ZIP_DEFLATED
    return info


def _environment(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"package-release: set {name}")
    return value


if __name__ == "__main__":
    sys.exit(main())

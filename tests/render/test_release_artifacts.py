"""Each image is built once per workflow run, and what is scanned is what is packaged.

Read from the generated workflows of every example: image builds per image in a pull request's
CI run and in a release run, and the chain of digests from the job that builds an archive to the
jobs that read it. Then the release's scan and package jobs, run as the workflow writes them
(their `run:` steps, with `env:` and `${{ }}` values substituted as GitHub would) on real OCI
archives, with a stand-in for the artifact store: `actions/download-artifact` by `name:` copies
that artifact's files into `path:`. Trivy itself (an action) and the Helm steps (they download
Helm) are not run here; the OCI layout Trivy reads is.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen import naming
from tests.conftest import ROOT
from tests.steps import run_step

EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "pipeline.yaml").is_file())
BUILD_ACTION = "docker/build-push-action"
VERSION, SHA = "v1.2.3", "f" * 40


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text())  # type: ignore[no-any-return]


def spec_images(example: str) -> dict[str, list[str]]:
    spec = load(ROOT / "examples" / example / "pipeline.yaml")
    return {i["name"]: i.get("platforms", ["linux/amd64"]) for i in spec.get("images", [])}


def builds_per_image(workflow: dict[str, Any]) -> dict[str, int]:
    """How many build-push-action steps build each image (by the step's `Build <image>` name)
    across every job of one run of `workflow`."""
    counts: dict[str, int] = {}
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if BUILD_ACTION in step.get("uses", ""):
                image = step["name"].removeprefix("Build ")
                counts[image] = counts.get(image, 0) + 1
    return counts


@pytest.mark.parametrize("example", EXAMPLES)
def test_one_build_per_image_per_pull_request_and_per_release(example: str) -> None:
    root = ROOT / "examples" / example
    images = dict.fromkeys(spec_images(example), 1)
    ci = load(root / naming.CI_WORKFLOW)
    assert "pull_request" in ci["on"]
    assert builds_per_image(ci) == images
    assert builds_per_image(load(root / naming.RELEASE_WORKFLOW)) == images


def readers(workflow: dict[str, Any], image: str) -> dict[str, str]:
    """Each job that downloads `image`'s archive → the job whose output its sha256 check reads."""
    found = {}
    for job_id, job in workflow["jobs"].items():
        steps = job.get("steps", [])
        for i, step in enumerate(steps):
            if step.get("with", {}).get("name") != f"image-{image}":
                continue
            if "download-artifact" not in step.get("uses", ""):
                continue
            check = steps[i + 1]
            assert check["env"]["ARCHIVE"] == f"dist/images/{image}.oci.tar"
            expected = check["env"]["ARCHIVE_SHA256"]
            producer = expected.removeprefix("${{ needs.").partition(".outputs.")[0]
            assert expected == f"${{{{ needs.{producer}.outputs.archive-sha256 }}}}"
            assert producer in job["needs"]
            assert check["run"] == (
                f'python3 {naming.IMAGE_ARCHIVE_SCRIPT} verify "$ARCHIVE" "$ARCHIVE_SHA256"'
            )
            found[job_id] = producer
    return found


def uploads(workflow: dict[str, Any], job_id: str) -> list[str]:
    return [
        step["with"]["name"]
        for step in workflow["jobs"][job_id].get("steps", [])
        if "upload-artifact" in step.get("uses", "")
    ]


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_scan_reads_the_archive_the_release_packages(example: str) -> None:
    """In the release, `scan` and `package` both check each archive against the same output of
    the one job that built and uploaded it; no job downloads archives by pattern."""
    root = ROOT / "examples" / example
    release = load(root / naming.RELEASE_WORKFLOW)
    ci = load(root / naming.CI_WORKFLOW)
    scanning = "scan" in release["jobs"]
    text = (root / naming.RELEASE_WORKFLOW).read_text()
    assert "pattern:" not in text and "merge-multiple" not in text
    for image, platforms in spec_images(example).items():
        built_by = f"image-{image}"
        expected = {"package": built_by, **({"scan": built_by} if scanning else {})}
        assert readers(release, image) == expected
        assert uploads(release, built_by) == [f"image-{image}"]
        outputs = release["jobs"][built_by]["outputs"]
        assert outputs["archive-sha256"] == "${{ steps.digest.outputs.archive-sha256 }}"
        scanned = [
            step["with"]["input"]
            for job in ([release["jobs"]["scan"]] if scanning else [])
            for step in job["steps"]
            if "trivy-action" in step.get("uses", "")
            and step["with"]["input"].startswith(f"dist/scan/{image}:")
        ]
        assert scanned == [f"dist/scan/{image}:{p.replace('/', '-')}" for p in platforms] or (
            not scanning
        )
        if scanning:  # CI: the scan reads what the run's build job built
            assert readers(ci, image) == {"image-scan": f"build-{image}"}
            assert uploads(ci, f"build-{image}") == [f"image-{image}"]


def test_every_example_scans_images_somewhere() -> None:
    releases = [load(ROOT / "examples" / e / naming.RELEASE_WORKFLOW) for e in EXAMPLES]
    assert any("scan" in release["jobs"] for release in releases)


# --- the steps, run ------------------------------------------------------------------------


def _blob(blobs: dict[str, bytes], data: bytes, media_type: str) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def real_archive(path: Path, name: str, platforms: list[str], *, salt: str = "") -> None:
    """An OCI archive laid out as buildx writes a multi-platform build with attestations off:
    index.json → one image index → one manifest (config, layer) per platform."""
    blobs: dict[str, bytes] = {}
    manifests = []
    for platform in platforms:
        os_name, arch, *variant = platform.split("/")
        image_config = {"architecture": arch, "os": os_name, "rootfs": {"type": "layers"}}
        config = _blob(
            blobs, json.dumps(image_config).encode(), "application/vnd.oci.image.config.v1+json"
        )
        layer = _blob(
            blobs, f"{name} {platform}{salt}".encode(), "application/vnd.oci.image.layer.v1.tar"
        )
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [layer],
        }
        entry = _blob(blobs, json.dumps(manifest).encode(), manifest["mediaType"])
        entry["platform"] = {"os": os_name, "architecture": arch}
        if variant:
            entry["platform"]["variant"] = variant[0]
        manifests.append(entry)
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }
    top = _blob(blobs, json.dumps(index).encode(), index["mediaType"])
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": json.dumps({"schemaVersion": 2, "manifests": [top]}).encode(),
        **{f"blobs/sha256/{d[7:]}": data for d, data in sorted(blobs.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


class Run:
    """One release run: its artifact store, its jobs' outputs, its workspace per job."""

    def __init__(self, example: str, tmp_path: Path) -> None:
        self.example, self.tmp = example, tmp_path
        self.workflow = load(ROOT / "examples" / example / naming.RELEASE_WORKFLOW)
        self.store = tmp_path / "artifacts"
        self.outputs: dict[str, dict[str, str]] = {}

    def workspace(self, job_id: str) -> Path:
        """A fresh checkout of the example (the tagged commit) for one job."""
        path = self.tmp / job_id
        if path.exists():  # a job run again: a fresh runner
            shutil.rmtree(path)
        shutil.copytree(ROOT / "examples" / self.example, path, symlinks=True)
        return path

    def expressions(self) -> dict[str, str]:
        values = {"github.ref_name": VERSION, "github.sha": SHA}
        for job_id, outputs in self.outputs.items():
            for key, value in outputs.items():
                values[f"needs.{job_id}.outputs.{key}"] = value
        return values

    def job(self, job_id: str, *, until: str = "", skip: tuple[str, ...] = ()) -> list[Any]:
        """Run the job's steps in order up to (and with) the step named `until`; each result."""
        cwd = self.workspace(job_id)
        github_output = self.tmp / f"{job_id}.output"
        github_output.write_text("")
        results = []
        for step in self.workflow["jobs"][job_id]["steps"]:
            uses = step.get("uses", "")
            if "download-artifact" in uses:
                source = self.store / step["with"]["name"]
                target = cwd / step["with"]["path"]
                target.mkdir(parents=True, exist_ok=True)
                for item in source.iterdir():
                    shutil.copy2(item, target / item.name)
            elif "run" in step and not step["name"].startswith(skip):
                result = run_step(
                    step,
                    cwd=cwd,
                    env={"GITHUB_OUTPUT": str(github_output)},
                    expressions=self.expressions(),
                )
                results.append((step["name"], result))
                if result.returncode != 0:
                    break
            if step["name"] == until:
                break
        self.cwd = cwd
        written = dict(line.split("=", 1) for line in github_output.read_text().splitlines())
        declared = self.workflow["jobs"][job_id].get("outputs", {})
        self.outputs[job_id] = {
            key: written.get(value.rpartition(".outputs.")[2].removesuffix(" }}"), "")
            for key, value in declared.items()
        }
        return results

    def build(self, image: str, platforms: list[str]) -> Path:
        """The image job's archive (a real OCI archive standing in for buildx's), its digest
        step as written (the job's outputs), and its upload."""
        job_id = f"image-{image}"
        cwd = self.workspace(job_id)
        archive = cwd / "dist" / "images" / f"{image}.oci.tar"
        real_archive(archive, image, platforms)
        steps = self.workflow["jobs"][job_id]["steps"]
        [digest] = [s for s in steps if s.get("id") == "digest"]
        output = self.tmp / f"{job_id}.output"
        result = run_step(digest, cwd=cwd, env={"GITHUB_OUTPUT": str(output)})
        assert result.returncode == 0, result.stdout
        self.outputs[job_id] = dict(line.split("=", 1) for line in output.read_text().splitlines())
        self.upload(f"image-{image}", archive)
        return archive

    def upload(self, name: str, file: Path) -> None:
        (self.store / name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, self.store / name / file.name)


PACKAGING = ("Install Helm", "Build the chart's dependencies")


@pytest.mark.parametrize("example", ["full", "github-delivery"])
def test_a_substituted_archive_under_another_name_never_reaches_the_release(
    example: str, tmp_path: Path
) -> None:
    """A check holding the run's token uploads `image-zz/api.oci.tar`: a download by pattern
    would have let it overwrite the real one; by name it is never read."""
    release = Run(example, tmp_path)
    built = {name: release.build(name, p) for name, p in spec_images(example).items()}
    attacker = tmp_path / "attacker" / "api.oci.tar"
    real_archive(attacker, "api", ["linux/amd64"], salt=" backdoored")
    release.upload("image-zz", attacker)

    results = release.job("package", until="Package the release", skip=PACKAGING)
    assert all(r.returncode == 0 for _, r in results), results[-1][1].stdout
    with zipfile.ZipFile(release.cwd / "dist" / "release.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    with zipfile.ZipFile(release.cwd / "dist" / "release.images.zip") as layout:
        for path in built.values():
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    if member.name.startswith("blobs/sha256/") and member.isfile():
                        data = tar.extractfile(member)
                        assert data is not None
                        assert layout.read(member.name) == data.read()
    for image in manifest["images"]:
        assert image["digest"] == release.outputs[f"image-{image['name']}"]["index-digest"]


@pytest.mark.parametrize("example", ["full"])
def test_a_substituted_archive_under_the_real_name_is_refused_before_packaging(
    example: str, tmp_path: Path
) -> None:
    release = Run(example, tmp_path)
    for name, platforms in spec_images(example).items():
        release.build(name, platforms)
    forged = tmp_path / "forged" / "worker.oci.tar"
    real_archive(forged, "worker", ["linux/amd64", "linux/arm64"], salt=" backdoored")
    shutil.rmtree(release.store / "image-worker")
    release.upload("image-worker", forged)

    for job_id in ("scan", "package"):
        results = release.job(job_id, until="Package the release", skip=PACKAGING)
        name, failed = results[-1]
        assert name == "Check the worker archive is the one image-worker built"
        assert failed.returncode == 1
        assert "this is not the archive that was built; it is not used" in failed.stdout
        assert not (release.cwd / "dist" / "release.zip").exists()


def test_the_scan_lays_out_each_platform_of_the_archive_it_verified(tmp_path: Path) -> None:
    """The scan job's own steps: each archive checked, then laid out so that every platform the
    trivy steps name is an image of the layout (index.json names it; its blob is there)."""
    release = Run("full", tmp_path)
    built = {name: release.build(name, p) for name, p in spec_images("full").items()}
    results = release.job("scan")
    assert all(r.returncode == 0 for _, r in results)
    scan = release.workflow["jobs"]["scan"]
    for step in scan["steps"]:
        if "trivy-action" not in step.get("uses", ""):
            continue
        layout, _, ref = step["with"]["input"].partition(":")
        index = json.loads((release.cwd / layout / "index.json").read_text())
        [entry] = [
            m
            for m in index["manifests"]
            if m["annotations"]["org.opencontainers.image.ref.name"] == ref
        ]
        assert (release.cwd / layout / "blobs" / "sha256" / entry["digest"][7:]).is_file()
        image = layout.rpartition("/")[2]
        scanned = release.cwd / "dist" / "images" / f"{image}.oci.tar"
        assert scanned.read_bytes() == built[image].read_bytes()


def test_a_substituted_release_zip_is_refused_by_every_delivery_job(tmp_path: Path) -> None:
    """`delivery: github`: each zip `package` kept (the release, and its images) is checked by
    every job that reads it against package's `release-sha256` / `images-sha256` output before
    it is extracted."""
    release = Run("github-delivery", tmp_path)
    for name, platforms in spec_images("github-delivery").items():
        release.build(name, platforms)
    until = "Keep the release's images for delivery"
    results = release.job("package", until=until, skip=PACKAGING)
    assert all(r.returncode == 0 for _, r in results), results[-1][1].stdout
    zips = {
        "release": ("release-sha256", release.cwd / "dist" / "release.zip"),
        "release-images": ("images-sha256", release.cwd / "dist" / "release.images.zip"),
    }
    for artifact, (output, packaged) in zips.items():
        assert (
            release.outputs["package"][output] == hashlib.sha256(packaged.read_bytes()).hexdigest()
        )
        release.upload(artifact, packaged)
    delivering = [j for j in release.workflow["jobs"] if j == "push" or j.startswith("deploy-")]
    check = "Check and extract the release"
    for job_id in delivering:
        [(name, ok)] = release.job(job_id, until=check)
        assert ok.returncode == 0, ok.stdout
    [(_, ok)] = release.job("push", until=f"{check}'s images")[1:]
    assert ok.returncode == 0, ok.stdout
    for artifact, (_, packaged) in zips.items():
        forged = tmp_path / "forged" / packaged.name
        forged.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(packaged) as original, zipfile.ZipFile(forged, "w") as copy:
            for item in original.infolist():
                copy.writestr(item, original.read(item.filename))
            copy.writestr("extra", b"not reviewed")
        kept = release.store / artifact
        shutil.move(kept, tmp_path / f"kept-{artifact}")
        release.upload(artifact, forged)
        readers = delivering if artifact == "release" else ["push"]
        for job_id in readers:
            step = check if artifact == "release" else f"{check}'s images"
            refused = release.job(job_id, until=step)[-1]
            assert (refused[0], refused[1].returncode) == (step, 1)
            assert "not what was packaged" in refused[1].stdout
            assert not (release.cwd / ("release" if artifact == "release" else "images")).exists()
        shutil.rmtree(kept)
        shutil.move(tmp_path / f"kept-{artifact}", kept)

"""How an image is built, carried and scanned, shared by CI and the release: each image is built
once per workflow run as an OCI archive, and every job that reads it (the scan, the packaging)
downloads that artifact by its exact name and checks it against the digest the building job
published as its output."""

from __future__ import annotations

import posixpath

from pipelinegen import naming
from pipelinegen.render.github.actions import action, tool
from pipelinegen.render.github.jobs import Step, buildx, checkout
from pipelinegen.spec.models import Image, Spec


def build_steps(spec: Spec, image: Image, **inputs: str | bool) -> list[Step]:
    """Buildx set-up (QEMU only when needed), then the build of `image` with extra `inputs`."""
    step = build_step(image, **inputs)
    platforms = str(step.inputs["platforms"]).split(",")
    native = "linux/arm64" if spec.github.runner.endswith("-arm") else "linux/amd64"
    return [*buildx(emulate=any(p != native for p in platforms)), step]


def build_step(image: Image, **inputs: str | bool) -> Step:
    """One build-push-action step: the spec's image inputs, then `inputs` (which win)."""
    spec_inputs: dict[str, str | int | bool] = {
        "context": image.context,
        "file": posixpath.normpath(posixpath.join(image.context, image.dockerfile)),
        "platforms": ",".join(image.platforms),
    }
    if image.build_args:
        spec_inputs["build-args"] = "\n".join(
            f"{name}={value}" for name, value in sorted(image.build_args.items())
        )
    if image.target:
        spec_inputs["target"] = image.target
    return Step(
        f"Build {image.name}", action("docker/build-push-action"), {**spec_inputs, **inputs}
    )


# An image's archive, carried from the job that builds it to the jobs that read it (the scan,
# the release's packaging) as an artifact of the same workflow run, with its digests.
IMAGES_DIR = "dist/images"
SCAN_DIR = "dist/scan"
ARTIFACT_PREFIX = "image-"
ARCHIVE_SHA256 = "archive-sha256"  # job output: the sha256 of the archive file
INDEX_DIGEST = "index-digest"  # job output: the digest of the image's index (or manifest)
DIGEST_STEP = "digest"


def artifact_name(image: str) -> str:
    return f"{ARTIFACT_PREFIX}{image}"


def archive_path(image: str) -> str:
    return f"{IMAGES_DIR}/{image}.oci.tar"


def archive_steps(spec: Spec, image: Image, **inputs: str | bool) -> list[Step]:
    """Build `image` once as an OCI archive (multi-arch index; no attestations: AWS Marketplace
    refuses the manifests buildx would add, and the scan reads platform images), record its
    digests for the job's outputs, and keep it for the later jobs of this run only: the
    artifact is read by them and by nothing after the run, so it lives one day."""
    archive = archive_path(image.name)
    build: dict[str, str | bool] = {
        "outputs": f"type=oci,dest={archive}",
        "provenance": False,
        "sbom": False,
    }
    return [
        *build_steps(spec, image, push=False, **build, **inputs),
        Step(
            "Record the archive's digests",
            env={"ARCHIVE": archive},
            run=f'python3 {naming.IMAGE_ARCHIVE_SCRIPT} digest "$ARCHIVE" >>"$GITHUB_OUTPUT"',
            id=DIGEST_STEP,
        ),
        Step(
            "Keep the archive for this run's later jobs",
            action("actions/upload-artifact"),
            {
                "name": artifact_name(image.name),
                "path": archive,
                "if-no-files-found": "error",
                "retention-days": 1,
                "compression-level": 0,
            },
        ),
    ]


def archive_outputs() -> dict[str, str]:
    """The outputs of a job made of `archive_steps`."""
    return {
        name: f"${{{{ steps.{DIGEST_STEP}.outputs.{name} }}}}"
        for name in (ARCHIVE_SHA256, INDEX_DIGEST)
    }


def fetch_archive_steps(image: str, built_by: str) -> list[Step]:
    """Download the archive job `built_by` (a job in this job's `needs`) uploaded, by its exact
    artifact name, and refuse it unless its sha256 is the one that job published."""
    return [
        Step(
            f"Fetch the {image} archive",
            action("actions/download-artifact"),
            {"name": artifact_name(image), "path": IMAGES_DIR},
        ),
        Step(
            f"Check the {image} archive is the one {built_by} built",
            env={
                "ARCHIVE": archive_path(image),
                "ARCHIVE_SHA256": f"${{{{ needs.{built_by}.outputs.{ARCHIVE_SHA256} }}}}",
            },
            run=f'python3 {naming.IMAGE_ARCHIVE_SCRIPT} verify "$ARCHIVE" "$ARCHIVE_SHA256"',
        ),
    ]


def platform_name(platform: str) -> str:
    """`linux/arm/v7` → `linux-arm-v7`: the name image-archive.py gives a platform's manifest."""
    return platform.replace("/", "-")


def scan_steps(spec: Spec, built_by: dict[str, str], *, cache: bool) -> list[Step]:
    """Scan every image's archive, as built in this run by the job `built_by[image]`: fetched and
    checked by digest, laid out as an OCI layout with each platform named, then Trivy on each
    platform that ships, failing at HIGH or CRITICAL fixable findings."""
    trivy = tool("trivy")
    steps = [checkout()]
    for image in spec.images:
        layout = f"{SCAN_DIR}/{image.name}"
        steps += fetch_archive_steps(image.name, built_by[image.name])
        steps.append(
            Step(
                f"Lay out the {image.name} archive for the scanner",
                env={"ARCHIVE": archive_path(image.name), "LAYOUT": layout},
                run=f'python3 {naming.IMAGE_ARCHIVE_SCRIPT} layout "$ARCHIVE" "$LAYOUT"',
            )
        )
        for platform in image.platforms:
            inputs: dict[str, str | int | bool] = {
                "input": f"{layout}:{platform_name(platform)}",
                "version": trivy.version,
                "severity": "HIGH,CRITICAL",
                "ignore-unfixed": True,
                "exit-code": "1",
            }
            if not cache:
                inputs["cache"] = False
            steps.append(
                Step(f"Scan {image.name} ({platform})", action("aquasecurity/trivy-action"), inputs)
            )
    return steps

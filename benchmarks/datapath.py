"""The release data path, read from what pipelinegen generates: image builds, and copies of each
image uploaded, stored and downloaded, per pull request and per release (issue #27).

Run: .venv/bin/python benchmarks/datapath.py [--before REV] [--archive-mb MB] [--write]

Nothing here is counted by hand: for every example it reads the generated GitHub workflows
(`.github/workflows/*.yml`) and the pipeline stack the example's CDK app synthesizes (one real
synth each, as `cdk synth` runs it), and counts

- builds: `docker/build-push-action` steps of an image (matched by context and Dockerfile) in
  the workflows a pull request starts, and in those a release tag starts (with every workflow
  they call through `uses: ./.github/workflows/...`);
- uploads: `actions/upload-artifact` steps whose path is an image archive or a release zip, and
  `aws s3 cp` of the release zip;
- stored copies: each upload, with how long it is kept (the artifact's `retention-days`; the
  release bucket's noncurrent-version expiry; the pipeline artifact bucket's expiration rule),
  plus each artifact of the pipeline that carries the images (the S3 source's output, and any
  CodeBuild output artifact whose buildspec section does not leave `images/` out);
- downloads: `actions/download-artifact` steps of image archives or the release zip, and each
  CodePipeline action that takes an image-carrying artifact as an input (CodePipeline copies
  every input artifact to the action; "Input and output artifacts", CodePipeline User Guide).

The images of a release are stored as one OCI image layout (each blob once): the report also
packages two images that share a base image (`--base-mb` of base layers, `--own-mb` each of
their own; random bytes, so nothing compresses) with the packager's own layout writer
(`.github/pipelinegen/package-release.py`), and gives the MB stored: the sum of the two
archives (one per image, as before) and the images zip.

Bytes are copies times the archive size given (`--archive-mb`, 300 by default: the issue's example
archive; the rehearsal's images are `FROM scratch` and weigh nothing). The critical path from
tag to the first environment adds the stage times of benchmarks/REHEARSAL.md's later release (a
shared, loaded machine; moto and a local registry stand in for AWS). `--before REV` measures the
examples as they were at REV too (their files from `git archive`, synthesized with today's CDK),
side by side. `--write` saves the report to benchmarks/DATAPATH.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

YAML_SAFE = YAML(typ="safe")
ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "benchmarks" / "DATAPATH.md"
REHEARSAL = ROOT / "benchmarks" / "REHEARSAL.md"
CDK_APP = "deploy/cdk"
IMAGES = "images"  # the folder of image archives inside the release zip


@dataclass
class Figures:
    """Per image, for one example: copies counted from the generated files."""

    example: str
    images: int
    environments: int
    builds_pr: int = 0
    builds_release: int = 0
    uploads: int = 0
    stored: list[str] = field(default_factory=list)  # one entry per copy: where, for how long
    downloads_github: int = 0
    downloads_pipeline: list[str] = field(default_factory=list)  # the actions that download

    @property
    def downloads(self) -> int:
        return self.downloads_github + len(self.downloads_pipeline)


# --- GitHub workflows ----------------------------------------------------------------------------


def _workflows(root: Path) -> dict[str, dict[str, Any]]:
    folder = root / ".github" / "workflows"
    return {path.name: YAML_SAFE.load(path.read_text()) for path in sorted(folder.glob("*.yml"))}


def _triggers(document: dict[Any, Any]) -> dict[str, Any]:
    found = document.get("on", document.get(True, {}))  # YAML 1.1 reads `on` as True
    return {found: None} if isinstance(found, str) else dict(found or {})


def _steps(workflows: dict[str, dict[str, Any]], name: str) -> Iterator[dict[str, Any]]:
    """Every step the workflow `name` runs, with the steps of the workflows it calls."""
    for job in workflows[name].get("jobs", {}).values():
        called = re.search(r"\.github/workflows/([^/@]+\.ya?ml)$", str(job.get("uses", "")))
        if called and called.group(1) in workflows:
            yield from _steps(workflows, called.group(1))
        yield from job.get("steps", [])


def _uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def _builds(steps: list[dict[str, Any]], image: dict[str, Any]) -> int:
    context = image["context"].rstrip("/") or "."
    dockerfile = f"{context}/{image['dockerfile']}".removeprefix("./")
    count = 0
    for step in steps:
        given = step.get("with") or {}
        if _uses(step, "docker/build-push-action") and given.get("context") == context:
            count += str(given.get("file", f"{context}/Dockerfile")) == dockerfile
    return count


def _carries(path: str, image: str, split: bool) -> bool:
    """An uploaded or downloaded path holds the image: its archive, or the release's images zip
    (before the images had an object of their own, `split` False: the release zip)."""
    return f"{image}.oci.tar" in path or path.endswith(".images.zip" if split else ".zip")


def github_figures(root: Path, spec: dict[str, Any], figures: Figures) -> None:
    workflows = _workflows(root)
    pr = [name for name, doc in workflows.items() if "pull_request" in _triggers(doc)]
    release = [
        name for name, doc in workflows.items() if "tags" in (_triggers(doc).get("push") or {})
    ]
    image = spec["images"][0]
    pr_steps = [step for name in pr for step in _steps(workflows, name)]
    figures.builds_pr = _builds(pr_steps, image)
    release_steps = [step for name in release for step in _steps(workflows, name)]
    figures.builds_release = _builds(release_steps, image)
    names: dict[str, str] = {}  # artifact name -> what it holds
    split = ".images.zip" in json.dumps(release_steps)
    for step in release_steps:
        given = step.get("with") or {}
        path = str(given.get("path", ""))
        if _uses(step, "actions/upload-artifact") and _carries(path, image["name"], split):
            figures.uploads += 1
            names[str(given["name"])] = path
            figures.stored.append(f"GitHub artifact, {given.get('retention-days', 90)} days")
        for line in str(step.get("run", "")).splitlines():
            copied = line.split()[3:4] if line.startswith("aws s3 cp") else []
            if copied and _carries(copied[0], image["name"], split):
                figures.uploads += 1
                figures.stored.append("release bucket (versioned)")
        if _uses(step, "actions/download-artifact"):
            wanted = str(given.get("name") or given.get("pattern", ""))
            pattern = re.compile(re.escape(wanted).replace(r"\*", ".*"))
            if any(pattern.fullmatch(name) for name in names):
                figures.downloads_github += 1


# --- the synthesized pipeline --------------------------------------------------------------------


def _pipeline_template(assembly: Path) -> dict[str, Any]:
    for path in sorted(assembly.glob("*.template.json")):
        template: dict[str, Any] = json.loads(path.read_text())
        if any(r["Type"] == "AWS::CodePipeline::Pipeline" for r in template["Resources"].values()):
            return template
    raise FileNotFoundError(f"no pipeline stack in {assembly}")


def _section_carries(buildspec: dict[str, Any], output: str, outputs: int) -> bool:
    """Whether the buildspec's artifacts section for `output` collects the release's images."""
    section = buildspec.get("artifacts", {})
    if outputs > 1 or "secondary-artifacts" in section:
        section = section.get("secondary-artifacts", {}).get(output, {})
    base = str(section.get("base-directory", ".")).strip("./")
    excluded = any(str(p).startswith(f"{IMAGES}/") for p in section.get("exclude-paths", []))
    return base == "" and not excluded and bool(section.get("files"))


def pipeline_figures(assembly: Path, figures: Figures, images_key: str | None = None) -> None:
    """Which actions download the images: an S3 source action's output carries them when it is
    the images object (`images_key`; before the images had an object of their own, None: the
    release zip), and a CodeBuild action's output when its artifacts section collects them."""
    template = _pipeline_template(assembly)
    resources = template["Resources"]
    [pipeline] = [r for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    carrying: set[str] = set()
    for stage in pipeline["Properties"]["Stages"]:
        for action in stage["Actions"]:
            provider = action["ActionTypeId"]["Provider"]
            inputs = [a["Name"] for a in action.get("InputArtifacts", [])]
            outputs = [a["Name"] for a in action.get("OutputArtifacts", [])]
            if provider == "S3":
                key = action["Configuration"]["S3ObjectKey"]
                if images_key is None or key == images_key:
                    carrying.update(outputs)
                continue
            if not set(inputs) & carrying:
                continue
            figures.downloads_pipeline.append(f"{stage['Name']}/{action['Name']}")
            if provider != "CodeBuild":
                continue
            project = resources[action["Configuration"]["ProjectName"]["Ref"]]
            buildspec = json.loads(project["Properties"]["Source"]["BuildSpec"])
            for output in outputs:
                if _section_carries(buildspec, output, len(outputs)):
                    carrying.add(output)
    kept = _artifact_bucket_expiry(resources)
    figures.stored += [f"pipeline artifact bucket, {kept}" for _ in carrying]


def _artifact_bucket_expiry(resources: dict[str, Any]) -> str:
    [pipeline] = [r for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    store = pipeline["Properties"].get("ArtifactStore", {}).get("Location", {})
    bucket = resources.get(store.get("Ref", ""), {})
    rules = bucket.get("Properties", {}).get("LifecycleConfiguration", {}).get("Rules", [])
    days = [r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r]
    return f"{min(days)} days" if days else "never expires"


# --- one example at one revision -----------------------------------------------------------------


def synth(root: Path, out: Path) -> Path:
    """The example's CDK app synthesized as the CDK CLI runs it (CDK_OUTDIR set), into `out`
    (outside the repository: nothing in it changes)."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=root / CDK_APP, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"synth of {root} failed:\n{result.stderr[-2000:]}")
    return out


def measure(root: Path, name: str, scratch: Path) -> Figures:
    spec = json.loads((root / CDK_APP / "pipeline.json").read_text())
    images = YAML_SAFE.load((root / "pipeline.yaml").read_text())["images"]
    first = {"context": ".", "dockerfile": "Dockerfile", **images[0]}
    figures = Figures(name, len(images), len(spec["environments"]))
    github_figures(root, {"images": [first]}, figures)
    if spec.get("delivery", "aws") != "github" and (root / CDK_APP / "app.py").is_file():
        images_key = spec["release"].get("images_key")
        pipeline_figures(synth(root, scratch / f"{name}.cdk.out"), figures, images_key)
    return figures


def examples_at(revision: str | None, work: Path) -> Path:
    """The examples folder: the working tree's, or REV's extracted under `work`."""
    if revision is None:
        return ROOT / "examples"
    data = subprocess.run(
        ["git", "archive", revision, "examples"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(work, filter="data")
    return work / "examples"


# --- the report ----------------------------------------------------------------------------------


def critical_path() -> tuple[float, list[str]]:
    """Seconds from tag to the first environment, from REHEARSAL.md's last release table."""
    tables = REHEARSAL.read_text().split("\n## ")
    rows = {}
    for line in tables[-1].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d+(\.\d+)?", cells[1]):
            rows[cells[0]] = float(cells[1]) + float(cells[2])
    first = next(stage for stage in rows if stage.startswith("Deploy-"))
    path = [stage for stage in rows if not stage.startswith(("Deploy-", "Marketplace", "**"))]
    path.append(first)
    return sum(rows[stage] for stage in path), path


def rows(figures: list[Figures], archive_mb: float) -> list[str]:
    lines = [
        "| example | images | envs | builds / PR | builds / release | uploads | stored copies "
        "| downloads (GitHub + pipeline) | MB up / stored / down per image |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for f in figures:
        stored = "; ".join(f.stored) or "none"
        mb = f"{f.uploads * archive_mb:.0f} / {len(f.stored) * archive_mb:.0f} / "
        mb += f"{f.downloads * archive_mb:.0f}"
        lines.append(
            f"| {f.example} | {f.images} | {f.environments} | {f.builds_pr} | "
            f"{f.builds_release} | {f.uploads} | {len(f.stored)}: {stored} | "
            f"{f.downloads_github} + {len(f.downloads_pipeline)} | {mb} |"
        )
    return lines


def _archive(path: Path, layers: list[Path]) -> None:
    """An OCI archive of one image made of `layers` (files of random bytes), as buildx writes."""
    import hashlib

    def digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    described = []
    for layer in layers:
        sha = hashlib.sha256()
        with layer.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                sha.update(chunk)
        described.append((layer, "sha256:" + sha.hexdigest(), layer.stat().st_size))
    config = json.dumps({"architecture": "amd64", "os": "linux", "name": path.name}).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n}
                for _, d, n in described
            ],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest(manifest),
                    "size": len(manifest),
                }
            ],
        }
    ).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", index),
            (f"blobs/sha256/{digest(config)[7:]}", config),
            (f"blobs/sha256/{digest(manifest)[7:]}", manifest),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for layer, layer_digest, _ in described:
            tar.add(layer, arcname=f"blobs/sha256/{layer_digest[7:]}")


def shared_layers(base_mb: int, own_mb: int, work: Path) -> tuple[float, float]:
    """MB stored for two images on one base: as two archives, and as the release's images zip
    (the packager's `_write_layout`, loaded from the full example's copy of the script)."""
    import importlib.util

    def random_file(path: Path, megabytes: int) -> Path:
        with path.open("wb") as out:
            for _ in range(megabytes):
                out.write(os.urandom(1 << 20))
        return path

    base = random_file(work / "base.layer", base_mb)
    archives = {}
    for name in ("api", "worker"):
        own = random_file(work / f"{name}.layer", own_mb)
        archives[name] = work / f"{name}.oci.tar"
        _archive(archives[name], [base, own])
    script = ROOT / "examples" / "full" / ".github" / "pipelinegen" / "package-release.py"
    loaded = importlib.util.spec_from_file_location("package_release", script)
    assert loaded is not None and loaded.loader is not None
    packager = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(packager)
    contract = packager._script(ROOT / "examples" / "full" / CDK_APP / "scripts" / "release.py")
    described = []
    for name, archive in archives.items():
        with tarfile.open(archive) as tar:
            data = tar.extractfile("index.json")
            index = json.loads(data.read()) if data else {}
        described.append({"name": name, "digest": index["manifests"][0]["digest"]})
    layout = work / "release.images.zip"
    packager._write_layout(layout, archives, described, contract)
    before = sum(path.stat().st_size for path in archives.values())
    return before / (1 << 20), layout.stat().st_size / (1 << 20)


def report(
    measured: dict[str, list[Figures]], archive_mb: float, shared: tuple[int, int, float, float]
) -> str:
    seconds, path = critical_path()
    lines = [
        "# The release data path",
        "",
        "Produced by `.venv/bin/python benchmarks/datapath.py "
        + " ".join(f"--before {label}" for label in measured if label != "now")
        + " --write`: counted from each example's generated workflows and its synthesized "
        "pipeline stack (see the module's docstring). Per image; bytes for an archive of "
        f"{archive_mb:.0f} MB.",
        "",
    ]
    for label, figures in measured.items():
        lines += [f"## {label}", "", *rows(figures, archive_mb), ""]
        for f in figures:
            if f.downloads_pipeline:
                actions = ", ".join(f.downloads_pipeline)
                lines.append(f"- {f.example}: the pipeline actions that download images: {actions}")
        lines.append("")
    base_mb, own_mb, before, after = shared
    lines += [
        "## Two images on one base image",
        "",
        f"Two images sharing {base_mb} MB of base layers, {own_mb} MB of their own each, "
        "packaged by the release's own layout writer: stored as two archives (one per image, "
        f"as before) {before:.0f} MB; as the release's images (one OCI image layout, each blob "
        f"once) {after:.0f} MB ({after / before:.2f} of it).",
        "",
        "## Critical path, tag to first environment",
        "",
        f"{seconds:.1f} s: {' + '.join(path)}, install and own work, from the later release of "
        f"[REHEARSAL.md](REHEARSAL.md) (stage times of the rehearsal; transfers of the images "
        "between actions are local copies there and are not what those seconds measure).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", help="a git revision to measure too, e.g. main")
    parser.add_argument("--archive-mb", type=float, default=300.0)
    parser.add_argument("--base-mb", type=int, default=200, help="shared base layers, MB")
    parser.add_argument("--own-mb", type=int, default=50, help="each image's own layers, MB")
    parser.add_argument("--write", action="store_true", help=f"save to {REPORT.name}")
    args = parser.parse_args()
    measured: dict[str, list[Figures]] = {}
    with tempfile.TemporaryDirectory(prefix="pipelinegen-datapath-") as work:
        for label, revision in ((args.before, args.before), ("now", None)):
            if label is None:
                continue
            scratch = Path(work) / label.replace("/", "-")
            scratch.mkdir(parents=True, exist_ok=True)
            folder = examples_at(revision, scratch)
            measured[label if revision else "now"] = [
                measure(root.parent, root.parent.name, scratch)
                for root in sorted(folder.glob("*/pipeline.yaml"))
            ]
        before, after = shared_layers(args.base_mb, args.own_mb, Path(work))
    shared = (args.base_mb, args.own_mb, before, after)
    text = report(measured, args.archive_mb, shared)
    print(text)
    if args.write:
        REPORT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures for the CodeBuild scripts: a fake extracted release, and fake `aws`, `skopeo`, `helm`
and `curl` commands that record how the scripts call them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.oci import digest_of as digest_of  # re-exported: the tests take it from here
from tests.oci import oci_layout

SCRIPTS = ROOT / "templates" / "cdk" / "scripts"
FAKE_TOOL = Path(__file__).with_name("fake_tool.py")
SPEC_SHA256 = "5" * 64
VERSION = "v1.2.3"
REGISTRY = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
IMAGES = ("api", "web")
IMAGES_DIR = "../images"  # the extracted images zip, as the scripts' IMAGES_DIR, from the release
DEPLOY = "cdk/scripts/deploy.sh"  # as CodeBuild runs it: the release's copy, beside pipeline.json


# What compile writes into the CDK app's pipeline.json for the deploy (pipelinegen.chart.values):
# api mapped at api.image (short form), web only in the global block.
PIPELINE = {
    "project": "acme-platform",
    "helm": {
        "release": "platform",
        "images": {
            "api": [
                {"path": "api.image.repository", "form": "repository"},
                {"path": "api.image.tag", "form": "tag"},
            ],
            "web": [
                {"path": f"global.pipelinegen.images.web.{form}", "form": form}
                for form in ("reference", "registry", "repository", "tag", "digest")
            ],
        },
    },
    # What the chart check reads of each environment (pipelinegen.render.cdk._environment).
    "environments": [
        {
            "name": name,
            "namespace": "platform",
            "kubernetes_version": "1.35",
            "api_versions": [],
            "access": {"cluster_kinds": [], "cluster_roles": [], "cluster_admin": False},
        }
        for name in ("staging", "prod")
    ],
}


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """An extracted release zip as the package script writes it (two images, a chart, values
    files for two environments, Marketplace usage instructions), and its images zip extracted
    beside it (`../images`, the scripts' IMAGES_DIR)."""
    root = tmp_path / "release"
    oci_layout(tmp_path / "images", list(IMAGES))
    chart = root / "chart" / "deploy" / "helm" / "platform"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: platform\nversion: 0.1.0\n")
    for environment in ("prod", "staging"):
        (root / "chart" / "deploy" / "helm" / f"values-{environment}.yaml").write_text("a: 1\n")
    (root / "chart" / "deploy" / "helm" / "common.yaml").write_text("b: 2\n")
    shutil.copytree(SCRIPTS, root / "cdk" / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "cdk" / "pipeline.json").write_text(json.dumps(PIPELINE, indent=2) + "\n")
    (root / "marketplace" / "docs").mkdir(parents=True)
    (root / "marketplace" / "docs" / "usage.md").write_text("\nhelm install platform ...\n\n")
    write_manifest(
        root,
        {
            "format": 2,
            "project": "acme-platform",
            "version": VERSION,
            "git_sha": "f" * 40,
            "spec_sha256": SPEC_SHA256,
            "images": [
                {"name": name, "platforms": ["linux/amd64"], "digest": digest_of(name)}
                for name in IMAGES
            ],
            "chart": "chart/deploy/helm/platform",
            "values": [
                "chart/deploy/helm/common.yaml",
                "chart/deploy/helm/values-prod.yaml",
                "chart/deploy/helm/values-staging.yaml",
            ],
        },
    )
    return root


@dataclass
class Fakes:
    """The fake tools' folder, their answers, and what they were asked."""

    bin: Path
    log: Path
    config: Path

    def configure(self, **config: Any) -> None:
        self.config.write_text(json.dumps(config))

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [call for call in calls if tool is None or call["tool"] == tool]

    def argvs(self, tool: str) -> list[list[str]]:
        return [call["argv"] for call in self.calls(tool)]


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    folder = tmp_path / "fakebin"
    folder.mkdir()
    source = FAKE_TOOL.read_text()
    for tool in ("aws", "skopeo", "helm", "curl", "npm", "cdk", "kubectl"):
        path = folder / tool
        path.write_text(f"#!{sys.executable}\n{source}")
        path.chmod(0o755)
    found = Fakes(bin=folder, log=tmp_path / "calls.jsonl", config=tmp_path / "fake.json")
    found.configure()
    return found


def run_script(
    name: str,
    *,
    cwd: Path,
    env: dict[str, str],
    fakes: Fakes | None = None,
    extra_path: list[Path] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`bash <script>` in `cwd` with only `env` (plus PATH, HOME and the fakes' settings);
    `extra_path` folders come after the fakes, before the machine's own."""
    path = [*map(str, extra_path or []), str(Path(sys.executable).parent)]
    path.append(os.environ.get("PATH", "/usr/bin:/bin"))
    full = {"HOME": str(cwd.parent), "LANG": "C.UTF-8", "TMPDIR": str(cwd.parent)}
    if fakes is not None:
        path.insert(0, str(fakes.bin))
        full.update(FAKE_LOG=str(fakes.log), FAKE_CONFIG=str(fakes.config))
    full["PATH"] = os.pathsep.join(path)
    full.update(env)
    script = name if "/" in name else str(SCRIPTS / name)
    return subprocess.run(
        ["bash", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )

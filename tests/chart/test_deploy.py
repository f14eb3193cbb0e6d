"""The released images reach the pods: each synthetic chart style under repos/ is validated,
compiled, its dependencies built with the real Helm 4, and the real deploy.sh run with only `aws`
(the fake tool) and the cluster standing in: Helm's `template`, with the deploy's exact arguments,
stands in for `upgrade --install`. The rendered manifests must run every spec image from the
pipeline's registry, pinned by the released digest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen.errors import SpecError
from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree
from tests.cdk.conftest import FAKE_TOOL, digest_of
from tests.conftest import EXAMPLES, ROOT

REPOS = Path(__file__).with_name("repos")
HELM = ROOT / "tests" / "helm" / "bin" / "helm"
VERSION = "v2.3.4"
STYLES = ("umbrella", "bitnami", "prefix", "sidecars", "strict", "onetag", "operator")
pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")

# `helm upgrade --install ARGS` becomes `helm template ARGS` (same flags; no cluster here).
HELM_STAND_IN = """#!/usr/bin/env bash
if [[ "$1" == upgrade ]]; then
  shift
  args=()
  for arg in "$@"; do [[ "$arg" == --install ]] || args+=("$arg"); done
  exec "$REAL_HELM" template "${args[@]}" >"$RENDERED"
fi
exec "$REAL_HELM" "$@"
"""


def helm_env(tmp: Path) -> dict[str, str]:
    homes = {name: str(tmp / "helm-home" / name) for name in ("cache", "config", "data")}
    return {
        "HELM_CACHE_HOME": homes["cache"],
        "HELM_CONFIG_HOME": homes["config"],
        "HELM_DATA_HOME": homes["data"],
    }


def release_of(repo: Path, tmp: Path, *, build: bool = True) -> tuple[Path, Any]:
    """Validate and compile the repository's spec, build the chart's dependencies with the real
    Helm (unless the repository vendors them all), and lay out the extracted release zip."""
    text = (repo / "pipeline.yaml").read_text()
    spec = load(text, file="pipeline.yaml", repository=WorkingTree(repo))
    for path, content in render(spec, Source("pipeline.yaml", text)).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(content)
    env = {**os.environ, **helm_env(tmp)}
    if build:
        subprocess.run(
            [str(HELM), "dependency", "build", str(repo / spec.helm.chart)], env=env, check=True
        )
    root = tmp / "release"
    shutil.copytree(repo / "deploy" / "cdk", root / "cdk")
    shutil.copytree(repo / spec.helm.chart, root / "chart" / spec.helm.chart)
    for environment in spec.environments:
        for values in environment.values:
            (root / "chart" / values).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(repo / values, root / "chart" / values)
    manifest = {
        "format": 2,
        "project": spec.name,
        "version": VERSION,
        "git_sha": "f" * 40,
        "spec_sha256": "5" * 64,
        "images": [
            {
                "name": image.name,
                "platforms": ["linux/amd64"],
                "digest": digest_of(image.name),
            }
            for image in spec.images
        ],
        "chart": f"chart/{spec.helm.chart}",
        "values": sorted({f"chart/{v}" for e in spec.environments for v in e.values}),
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root, spec


def deploy(root: Path, spec: Any, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The release's deploy.sh for the first environment, as its CodeBuild project runs it."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(f"#!{sys.executable}\n{FAKE_TOOL.read_text()}")
    (bin_dir / "kubectl").write_text(f"#!{sys.executable}\n{FAKE_TOOL.read_text()}")
    (bin_dir / "helm").write_text(HELM_STAND_IN)
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    (tmp / "fake.json").write_text("{}")
    environment = spec.environments[0]
    registry = f"{spec.aws.account}.dkr.ecr.{spec.aws.region}.amazonaws.com"
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), "/usr/bin:/bin"]),
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "FAKE_LOG": str(tmp / "calls.jsonl"),
        "FAKE_CONFIG": str(tmp / "fake.json"),
        "REAL_HELM": str(HELM),
        "RENDERED": str(tmp / "rendered.yaml"),
        "ENVIRONMENT": environment.name,
        "CLUSTER": environment.cluster,
        "CLUSTER_REGION": spec.aws.region,
        "NAMESPACE": environment.namespace,
        "DEPLOY_ROLE_ARN": f"arn:aws:iam::{spec.aws.account}:role/{spec.name}-deploy",
        "HELM_RELEASE": spec.name,
        "ECR_REGISTRY": registry,
        "ECR_PREFIX": spec.name,
        "VALUES_FILES": " ".join(f"chart/{v}" for v in environment.values),
        **helm_env(tmp),
    }
    return subprocess.run(
        ["bash", "cdk/scripts/deploy.sh"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def pod_images(rendered: str) -> list[str]:
    """Every container and initContainer image of the rendered workloads."""
    found = []
    for document in YAML(typ="safe").load_all(rendered):
        if not isinstance(document, dict):
            continue
        spec = document.get("spec") or {}
        if document["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        pod = spec.get("template", {}).get("spec", spec)
        for field in ("initContainers", "containers"):
            found += [container["image"] for container in pod.get(field) or []]
    return found


@pytest.mark.parametrize("style", STYLES)
def test_every_pod_runs_the_released_digest(style: str, tmp_path: Path) -> None:
    repo = tmp_path / style
    shutil.copytree(REPOS / style, repo)
    root, spec = release_of(repo, tmp_path)
    result = deploy(root, spec, tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "rendered.yaml").read_text()
    registry = f"{spec.aws.account}.dkr.ecr.{spec.aws.region}.amazonaws.com"
    images = pod_images(rendered)
    assert images, rendered
    allowed = {
        f"{registry}/{spec.name}/{image.name}{tag}@{digest_of(image.name)}"
        for image in spec.images
        for tag in ("", f":{VERSION}")
    }
    assert set(images) <= allowed, images
    assert {image.split("@")[0].rsplit("/", 1)[-1].split(":")[0] for image in images} == {
        image.name for image in spec.images
    }
    # deploy.sh ran the chart check on the release's chart before `helm upgrade`.
    assert "all pinned by digest" in result.stdout, result.stdout


def test_an_unmapped_subchart_is_a_located_error_and_fails_the_check(tmp_path: Path) -> None:
    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    spec = repo / "pipeline.yaml"
    spec.write_text(spec.read_text().replace("    values: cart.image ", "    # unmapped "))
    with pytest.raises(SpecError) as raised:
        load(spec.read_text(), file="pipeline.yaml", repository=WorkingTree(repo))
    (problem,) = raised.value.diagnostics
    assert (problem.line, problem.column) == (7, 11)
    assert "image 'cart' is mapped to no values path" in problem.message
    assert problem.hint.startswith("add `values: cart.image`")

    # What the CI chart check says of the same chart rendered without the mapping.
    env = {**os.environ, **helm_env(tmp_path)}
    chart = repo / "deploy" / "umbrella"
    subprocess.run([str(HELM), "dependency", "build", str(chart)], env=env, check=True)
    rendered = subprocess.run(
        [str(HELM), "template", "shop", str(chart)], env=env, capture_output=True, text=True
    ).stdout
    (tmp_path / "rendered.yaml").write_text(rendered)
    # The spec's mapping as compile writes it: cart at cart.image (short form) and shop at
    # storefront.image, each also in the global block; this chart reads neither.
    mapped = {"cart": "cart.image", "shop": "storefront.image"}
    report = judge(rendered, mapped)
    paths = {name: f"{values}.{{repository,tag}}" for name, values in mapped.items()}
    assert report.errors() == [
        f"Deployment/{workload} (umbrella/charts/{alias}/templates/deployment.yaml) {field} "
        f"'{container}': runs 'docker.io/acme/{name}:latest', not "
        f"111111111111.dkr.ecr.us-east-1.amazonaws.com/shop/{name}@sha256:…: the spec maps "
        f"image '{name}' to {paths[name]}, and this image is not made from them: map image "
        f"'{name}' to the values path(s) the chart reads it from (`values:` of image '{name}' in "
        "the spec)"
        for workload, alias, name in (
            ("shop-cart-cart", "cart", "cart"),
            ("shop-storefront-shop", "storefront", "shop"),
        )
        for field, container in (("initContainers", "wait"), ("containers", "app"))
    ]


def test_a_spec_image_no_container_runs_is_named_with_what_the_chart_renders() -> None:
    """An image whose chart renders it under another name (an upstream default such as
    docker.io/bitnami/nginx) is run by no pod: a warning names its mapped paths (an environment
    may deploy only some images); the upstream image itself is refused as undeclared."""
    rendered = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        "    - name: nginx\n      image: docker.io/bitnami/nginx:1.25\n"
    )
    report = judge(rendered, {"web": "web.image"})
    assert report.warnings == [
        "image 'web' is run by no rendered pod as install: the spec maps it to "
        "web.image.{repository,tag}"
    ]
    assert report.errors() == [
        "Pod/web containers 'nginx': runs 'docker.io/bitnami/nginx:1.25', which is not pinned "
        "by digest: declare it in `third_party_images` (name: nginx, image: "
        "docker.io/bitnami/nginx:1.25@sha256:<digest>) and map it with `values:` (the values "
        "paths the chart reads it from), so the chart runs the release's copy"
    ]


def judge(rendered: str, mapped: dict[str, str]) -> Any:
    """The chart check's judgement of `rendered` (as install), with pipeline.json's
    `helm.images` as compile writes it for images mapped with the short form `mapped[name]`."""
    from pipelinegen.chart.render import shipped
    from pipelinegen.chart.values import global_targets, image_targets
    from pipelinegen.spec.models import Image

    chart_check = shipped("chart_check")
    images = {}
    for name, values in mapped.items():
        image = Image.model_validate({"name": name, "context": ".", "values": values})
        targets = [*image_targets(image), *global_targets(name)]
        images[name] = [{"path": t.path, "form": t.form} for t in targets]
    pipeline = {"project": "shop", "helm": {"images": images}}
    report = chart_check.Report()
    chart_check.judge(
        rendered,
        label="as install",
        environment=None,
        images=chart_check.images_from(
            pipeline, registry="111111111111.dkr.ecr.us-east-1.amazonaws.com"
        ),
        report=report,
        helm=str(HELM),
    )
    return report


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_chart_job_passes_on_every_example_environment(example: Path, tmp_path: Path) -> None:
    """The CI `chart` job's script, per environment, on each example's committed outputs (in a
    copy: Helm and Python write nothing into the examples)."""
    example = Path(shutil.copytree(example, tmp_path / example.name))
    text = (example / "pipeline.yaml").read_text()
    spec = load(text, file="pipeline.yaml")
    path = os.pathsep.join([str(HELM.parent), str(Path(sys.executable).parent), "/usr/bin:/bin"])
    for environment in spec.environments:
        env = {
            "PATH": path,
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path),
            **helm_env(tmp_path),
            "ENVIRONMENT": environment.name,
            "CHART": spec.helm.chart,
            "NAMESPACE": environment.namespace,
            "VALUES_FILES": " ".join(environment.values),
            "ECR_REGISTRY": f"{spec.aws.account}.dkr.ecr.{spec.aws.region}.amazonaws.com",
            "PIPELINE": "deploy/cdk/pipeline.json",
        }
        result = subprocess.run(
            ["bash", "deploy/cdk/scripts/render-chart.sh"],
            cwd=example,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "all pinned by digest" in result.stdout
    assert list(example.rglob("__pycache__")) == []  # nothing written into the checkout

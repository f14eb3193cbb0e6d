"""The chart published to AWS Marketplace, packaged by the real marketplace_chart.py with the real
Helm 4: every image the chart runs is the seller's Marketplace image pinned by the released
digest, when a buyer installs the package with its own values alone; an image the chart runs
from anywhere else stops the packaging with the workload that runs it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.cdk.conftest import digest_of
from tests.chart.test_deploy import HELM, REPOS, STYLES, VERSION, helm_env, release_of
from tests.conftest import ROOT

FULL = ROOT / "examples" / "full"
MARKETPLACE = "709825985650.dkr.ecr.us-east-1.amazonaws.com"
pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")


def package(root: Path, tmp: Path, prefix: str = "acme") -> subprocess.CompletedProcess[str]:
    out = tmp / "out"
    out.mkdir()
    env = {
        **os.environ,
        **helm_env(tmp),
        "PATH": os.pathsep.join([str(HELM.parent), os.environ["PATH"]]),
    }
    return subprocess.run(
        [
            sys.executable,
            str(root / "cdk" / "scripts" / "marketplace_chart.py"),
            "package",
            "--pipeline",
            str(root / "cdk" / "pipeline.json"),
            "--release",
            str(root),
            "--registry",
            MARKETPLACE,
            "--prefix",
            prefix,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=root,
    )


def copy_of(source: Path, tmp: Path) -> Path:
    repo = tmp / "repo"
    shutil.copytree(source, repo)
    return repo


def rendered_images(packaged: Path, tmp: Path) -> list[str]:
    """Every container image of the package as `helm template` renders it with no values."""
    env = {**os.environ, **helm_env(tmp)}
    text = subprocess.run(
        [str(HELM), "template", "buyer", str(packaged)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return [
        line.split("image:", 1)[1].strip().strip("\"'")
        for line in text.splitlines()
        if line.strip().startswith("image:")
    ]


@pytest.mark.parametrize("source", [*STYLES, "full"])
def test_the_packaged_chart_runs_only_marketplace_images_by_digest(
    source: str, tmp_path: Path
) -> None:
    root, spec = release_of(
        copy_of(FULL if source == "full" else REPOS / source, tmp_path), tmp_path
    )
    result = package(root, tmp_path)
    assert result.returncode == 0, result.stderr
    name, version, path = result.stdout.strip().split("\t")
    packaged = Path(path)
    assert version == VERSION
    assert packaged.name == f"{name}-{VERSION}.tgz"
    images = rendered_images(packaged, tmp_path)
    assert images
    for image in images:
        repository, digest = image.split("@")
        assert repository.split(":")[0] in {f"{MARKETPLACE}/acme/{i.name}" for i in spec.images}
        assert digest == digest_of(repository.split(":")[0].rsplit("/", 1)[1])
    # The package is reproducible: a retried publication finds the same chart in the registry.
    again = tmp_path / "again"
    again.mkdir()
    second = package(root, again)
    assert second.returncode == 0, second.stderr
    first_bytes = packaged.read_bytes()
    second_bytes = Path(second.stdout.strip().split("\t")[2]).read_bytes()
    assert hashlib.sha256(first_bytes).digest() == hashlib.sha256(second_bytes).digest()


def test_the_full_example_chart_carries_its_version_and_marketplace_values(
    tmp_path: Path,
) -> None:
    root, _ = release_of(copy_of(FULL, tmp_path), tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 0, result.stderr
    with tarfile.open(result.stdout.strip().split("\t")[2]) as tar:
        chart = tar.extractfile("platform/Chart.yaml")
        values = tar.extractfile("platform/values.yaml")
        assert chart is not None and values is not None
        chart_text, values_text = chart.read().decode(), values.read().decode()
    assert f"version: {VERSION}" in chart_text
    assert f"appVersion: {VERSION}" in chart_text
    document = json.loads(values_text.split("\n", 2)[2])  # after the two header comment lines
    assert document["api"]["image"] == {
        "repository": f"{MARKETPLACE}/acme/api",
        "tag": f"{VERSION}@{digest_of('api')}",
    }
    assert document["worker"]["image"]["registry"] == MARKETPLACE
    assert document["worker"]["image"]["repository"] == "acme/worker"
    assert document["replicas"] == 1  # the chart's own values are kept


def test_an_image_the_chart_runs_from_elsewhere_stops_the_packaging(tmp_path: Path) -> None:
    root, _ = release_of(copy_of(FULL, tmp_path), tmp_path)
    templates = root / "chart" / "deploy" / "helm" / "platform" / "templates"
    (templates / "exporter.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: exporter\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: exporter\n"
        "          image: quay.io/prometheus/statsd-exporter:v0.26.0\n"
    )
    result = package(root, tmp_path)
    assert result.returncode == 1
    assert (
        "error: Deployment/exporter (platform/templates/exporter.yaml) containers 'exporter': "
        "runs 'quay.io/prometheus/statsd-exporter:v0.26.0', which is not in the seller's "
        f"Marketplace repositories {MARKETPLACE}/acme" in result.stderr
    )


def test_a_release_version_helm_cannot_version_a_chart_with_is_refused(
    tmp_path: Path,
) -> None:
    root, _ = release_of(copy_of(FULL, tmp_path), tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["version"] = "release-5"
    (root / "manifest.json").write_text(json.dumps(manifest))
    result = package(root, tmp_path)
    assert result.returncode == 1
    assert "release version 'release-5' is not a SemVer 2 version" in result.stderr


EVIL = "docker.io/evil/miner:latest"
POD = f"spec:\n  containers:\n    - name: miner\n      image: {EVIL}\n"
HIDDEN = {
    # Helm 4 flattens a List into its items when it installs (helm/helm pkg/kube/client.go).
    "list": (
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n"
        "    metadata:\n      name: miner\n    spec:\n      template:\n        spec:\n"
        f"          containers:\n            - name: miner\n              image: {EVIL}\n",
        "Deployment/miner (platform/templates/hidden.yaml) containers 'miner'",
    ),
    "replication-controller": (
        "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: miner\nspec:\n"
        "  template:\n    spec:\n      initContainers:\n        - name: miner\n"
        f"          image: {EVIL}\n      containers: []\n",
        "ReplicationController/miner (platform/templates/hidden.yaml) initContainers 'miner'",
    ),
    "custom-resource": (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: miner\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: miner\n"
        f"          image: {EVIL}\n",
        "Rollout/miner (platform/templates/hidden.yaml) containers 'miner'",
    ),
    # An image volume (Kubernetes 1.31+) and an image handed to a controller in an env value.
    "image-volume": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: miner\nspec:\n  containers: []\n"
        f"  volumes:\n    - name: model\n      image:\n        reference: {EVIL}\n",
        "Pod/miner (platform/templates/hidden.yaml) image volume 'model'",
    ),
    "env-image": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: operator\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: operator\n"
        f"          image: {MARKETPLACE}/acme/api@sha256:{'0' * 64}\n          env:\n"
        "            - name: RELATED_IMAGE_MINER\n"
        "              value: registry.example.com/evil/miner:v1\n",
        "Deployment/operator (platform/templates/hidden.yaml) containers 'operator' env "
        "RELATED_IMAGE_MINER",
    ),
    "nested-list": (
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: PodList\n"
        "    items:\n      - apiVersion: v1\n        kind: Pod\n        metadata:\n"
        f"          name: miner\n        spec:\n          containers:\n"
        f"            - name: miner\n              image: {EVIL}\n",
        "Pod/miner (platform/templates/hidden.yaml) containers 'miner'",
    ),
}


@pytest.mark.parametrize("shape", sorted(HIDDEN))
def test_an_outside_image_in_any_pod_spec_stops_the_packaging(shape: str, tmp_path: Path) -> None:
    root, _ = release_of(copy_of(FULL, tmp_path), tmp_path)
    template, where = HIDDEN[shape]
    (root / "chart" / "deploy" / "helm" / "platform" / "templates" / "hidden.yaml").write_text(
        template
    )
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"error: {where}: runs '" in result.stderr
    assert "which is not in the seller's Marketplace repositories" in result.stderr


def test_a_spec_image_pinned_by_another_digest_stops_the_packaging(tmp_path: Path) -> None:
    root, _ = release_of(copy_of(FULL, tmp_path), tmp_path)
    old = f"{MARKETPLACE}/acme/api:v0.9.0@sha256:{'1' * 64}"
    (root / "chart" / "deploy" / "helm" / "platform" / "templates" / "old.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: old\nspec:\n  containers:\n"
        f"    - name: api\n      image: {old}\n"
    )
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    assert (
        f"error: Pod/old (platform/templates/old.yaml) containers 'api': runs '{old}', not the "
        f"released {MARKETPLACE}/acme/api@{digest_of('api')}" in result.stderr
    )


def with_overrides(repo: Path, *overrides: tuple[str, str]) -> None:
    """Add override parameters (key, default) to the repository's spec."""
    spec = repo / "pipeline.yaml"
    extra = "".join(
        f'      - key: {key}\n        default: "{default}"\n        label: {key}\n'
        f"        description: Sets {key}.\n"
        for key, default in overrides
    )
    text = spec.read_text()
    anchor = "    override_parameters:\n"
    assert anchor in text
    spec.write_text(text.replace(anchor, anchor + extra, 1))


EXPORTER = "quay.io/prometheus/statsd-exporter:v0.26.0"
SWITCHED = {
    # An override default switches on a template with a hard-coded image.
    "default-on": ("true", "false", "with --set metrics.enabled=true,replicas=2"),
    # An override default leaves it off; a buyer flipping the flag switches it on.
    "flipped-on": ("false", "false", "with --set metrics.enabled=true,replicas=2"),
    # The chart's own value is on, the override default turns it off: the default render is
    # clean, a buyer flipping the flag back gets the image.
    "flipped-back": ("false", "true", "with --set metrics.enabled=true,replicas=2"),
}


@pytest.mark.parametrize("case", sorted(SWITCHED))
def test_an_override_that_switches_on_an_outside_image_stops_the_packaging(
    case: str, tmp_path: Path
) -> None:
    default, chart_value, expected = SWITCHED[case]
    repo = copy_of(FULL, tmp_path)
    with_overrides(repo, ("metrics.enabled", default))
    chart = repo / "deploy" / "helm" / "platform"
    values = chart / "values.yaml"
    values.write_text(values.read_text() + f"metrics:\n  enabled: {chart_value}\n")
    (chart / "templates" / "metrics.yaml").write_text(
        "{{- if .Values.metrics.enabled }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        "  name: exporter\nspec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: exporter\n          image: {EXPORTER}\n{{{{- end }}}}\n"
    )
    root, _ = release_of(repo, tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stderr.splitlines() if "Deployment/exporter" in line)
    assert f"containers 'exporter': runs '{EXPORTER}'" in line
    assert expected in line


def test_an_override_that_switches_on_a_packaged_subchart_stops_the_packaging(
    tmp_path: Path,
) -> None:
    repo = copy_of(FULL, tmp_path)
    with_overrides(repo, ("redis.enabled", "true"))
    chart = repo / "deploy" / "helm" / "platform"
    sub = repo / "deploy" / "helm" / "redis"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: redis\nversion: 0.1.0\n")
    # The image is written in the template, not in values validate could see.
    (sub / "templates" / "redis.yaml").write_text(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: redis\n"
        "          image: docker.io/bitnami/redis:7.2\n"
    )
    chart_yaml = chart / "Chart.yaml"
    chart_yaml.write_text(
        chart_yaml.read_text()
        + "dependencies:\n  - name: redis\n    version: 0.1.0\n    condition: redis.enabled\n"
        + "    repository: file://../redis\n"  # helm dependency build packs charts/redis-0.1.0.tgz
    )
    values = chart / "values.yaml"
    values.write_text(values.read_text() + "redis:\n  enabled: false\n")
    root, _ = release_of(repo, tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    assert (
        "error: StatefulSet/redis (platform/charts/redis/templates/redis.yaml) containers "
        "'redis': runs 'docker.io/bitnami/redis:7.2'" in result.stderr
    )


def gated(repo: Path, condition: str) -> None:
    """A template that runs an outside image only when `condition` holds."""
    chart = repo / "deploy" / "helm" / "platform"
    (chart / "templates" / "gated.yaml").write_text(
        f"{{{{- if {condition} }}}}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        "  name: exporter\nspec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: exporter\n          image: {EXPORTER}\n{{{{- end }}}}\n"
    )


def test_a_pair_of_boolean_overrides_that_switches_on_an_image_stops_the_packaging(
    tmp_path: Path,
) -> None:
    """Each flag alone is harmless; a buyer setting both gets the outside image."""
    repo = copy_of(FULL, tmp_path)
    with_overrides(repo, ("metrics.enabled", "false"), ("metrics.exporter", "false"))
    values = repo / "deploy" / "helm" / "platform" / "values.yaml"
    values.write_text(values.read_text() + "metrics:\n  enabled: false\n  exporter: false\n")
    gated(repo, "and .Values.metrics.enabled .Values.metrics.exporter")
    root, _ = release_of(repo, tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stderr.splitlines() if "Deployment/exporter" in line)
    assert line.endswith("[with --set metrics.enabled=true,metrics.exporter=true,replicas=2]"), line


@pytest.mark.parametrize(
    ("override", "condition", "label"),
    [
        # A string override at another value than its default.
        (("edition", "community"), 'ne .Values.edition "community"', "edition=pipelinegen-check"),
        # A number override one above its default.
        (("replicas", None), "gt (int .Values.replicas) 2", "replicas=3"),
    ],
)
def test_a_non_boolean_override_at_another_value_is_rendered(
    override: tuple[str, str | None], condition: str, label: str, tmp_path: Path
) -> None:
    repo = copy_of(FULL, tmp_path)
    if override[1] is not None:
        with_overrides(repo, (override[0], override[1]))
        values = repo / "deploy" / "helm" / "platform" / "values.yaml"
        values.write_text(values.read_text() + f"{override[0]}: {override[1]}\n")
    gated(repo, condition)
    root, _ = release_of(repo, tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stderr.splitlines() if "Deployment/exporter" in line)
    assert label in line and "[with --set" in line, line


def test_an_override_value_the_chart_refuses_is_reported_unchecked(tmp_path: Path) -> None:
    """A render Helm refuses (the chart's own `fail`) checks nothing: it is said, not passed."""
    repo = copy_of(FULL, tmp_path)
    with_overrides(repo, ("edition", "community"))
    chart = repo / "deploy" / "helm" / "platform"
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text() + "edition: community\n")
    (chart / "templates" / "edition.yaml").write_text(
        '{{- if not (has .Values.edition (list "community" "enterprise")) }}\n'
        '{{- fail "edition must be community or enterprise" }}\n{{- end }}\n'
    )
    root, _ = release_of(repo, tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "warning: unchecked: helm template failed with --set edition=pipelinegen-check,"
        "replicas=2: " in result.stderr
    )
    assert "edition must be community or enterprise" in result.stderr


def test_an_image_swapped_on_upgrade_stops_the_packaging(tmp_path: Path) -> None:
    repo = copy_of(FULL, tmp_path)
    gated(repo, ".Release.IsUpgrade")
    root, _ = release_of(repo, tmp_path)
    result = package(root, tmp_path)
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stderr.splitlines() if "Deployment/exporter" in line)
    assert line.endswith("[with --set replicas=2, as upgrade]"), line

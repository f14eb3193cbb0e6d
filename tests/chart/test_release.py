"""A chart with a remote dependency (a chart repository served over HTTPS on 127.0.0.1) and
`file://` dependencies outside its folder: validated against its Chart.lock, built at release
time with the real Helm, packaged into the zip and listed in the manifest, then deployed with the
repository gone."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelinegen import naming
from pipelinegen.errors import SpecError
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree
from tests.chart.served import certificate, https_server
from tests.chart.test_deploy import HELM, REPOS, deploy, helm_env, pod_images
from tests.oci import oci_archive

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")


@pytest.fixture
def chart_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Helm chart repository holding `cache` 1.0.0, served over HTTPS on 127.0.0.1 (Helm
    trusts its certificate through SSL_CERT_FILE); its URL."""
    source = tmp_path / "cache"
    (source / "templates").mkdir(parents=True)
    (source / "Chart.yaml").write_text("apiVersion: v2\nname: cache\nversion: 1.0.0\n")
    (source / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cache\n"
    )
    served = tmp_path / "served"
    served.mkdir()
    cert, key = certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    env = {**os.environ, **helm_env(tmp_path)}
    subprocess.run([str(HELM), "package", str(source), "-d", str(served)], env=env, check=True)
    with https_server(served, cert, key) as url:
        subprocess.run([str(HELM), "repo", "index", str(served), "--url", url], env=env, check=True)
        yield url


def pin(chart: Path) -> None:
    """charts.sha256 as a team writes it after `helm dependency update` (sha256sum's format)."""
    archive = chart / "charts" / "cache-1.0.0.tgz"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (chart / "charts.sha256").write_text(f"{digest}  charts/cache-1.0.0.tgz\n")


def build_dependencies(chart: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The step that builds the chart's dependencies, in CI's chart job and in the release."""
    from pipelinegen.render.github.jobs import BUILD_DEPENDENCIES

    env = {**os.environ, **helm_env(tmp_path)}
    path = f"{HELM.parent}{os.pathsep}{os.environ['PATH']}"
    build = {**env, "PATH": path, "CHART": str(chart), "RUNNER_TEMP": str(tmp_path)}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", BUILD_DEPENDENCIES],
        env=build,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_remote_dependency_is_released_and_deployed_offline(
    chart_repository: str, tmp_path: Path
) -> None:
    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    chart = repo / "deploy" / "umbrella"
    (chart / "Chart.yaml").write_text(
        (chart / "Chart.yaml").read_text()
        + f"  - name: cache\n    version: 1.0.0\n    repository: {chart_repository}\n"
    )
    spec_text = (repo / "pipeline.yaml").read_text()
    with pytest.raises(SpecError) as raised:
        load(spec_text, file="pipeline.yaml", repository=WorkingTree(repo))
    assert [d.message for d in raised.value.diagnostics] == [
        "'deploy/umbrella' has remote dependencies but no Chart.lock"
    ]
    env = {**os.environ, **helm_env(tmp_path)}
    subprocess.run([str(HELM), "dependency", "update", str(chart)], env=env, check=True)
    with pytest.raises(SpecError) as raised:
        load(spec_text, file="pipeline.yaml", repository=WorkingTree(repo))
    assert [d.message for d in raised.value.diagnostics] == [
        "'deploy/umbrella' has remote dependencies but no charts.sha256: the release could "
        "package other archives than CI rendered"
    ]
    pin(chart)
    shutil.rmtree(chart / "charts")  # as committed: the lock and the pins, not the packages
    spec = load(spec_text, file="pipeline.yaml", repository=WorkingTree(repo))

    # The release job: compile's outputs, the pinned Helm builds against the lock, then packaging.
    from pipelinegen.render import Source, render

    for path, content in render(spec, Source("pipeline.yaml", spec_text)).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(content)
    built = build_dependencies(chart, tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "charts/cache-1.0.0.tgz: OK" in built.stdout
    for image in spec.images:
        oci_archive(repo / "dist" / "images" / f"{image.name}.oci.tar", image.name)
    packaged = subprocess.run(
        [
            sys.executable,
            naming.PACKAGE_SCRIPT,
            *("--plan", naming.RELEASE_PLAN, "--images", "dist/images"),
            *("--out", "dist/release.zip", "--images-out", "dist/release.images.zip"),
        ],
        cwd=repo,
        env={**os.environ, "RELEASE_VERSION": "v2.3.4", "GIT_SHA": "f" * 40},
        capture_output=True,
        text=True,
        check=False,
    )
    assert packaged.returncode == 0, packaged.stderr
    root = tmp_path / "release"
    with zipfile.ZipFile(repo / "dist" / "release.zip") as archive:
        archive.extractall(root)
    with zipfile.ZipFile(repo / "dist" / "release.images.zip") as archive:
        archive.extractall(tmp_path / "images")
    manifest = json.loads((root / "manifest.json").read_text())
    assert [(d["name"], d["version"]) for d in manifest["dependencies"]] == [
        ("cache", "1.0.0"),
        ("service", "0.1.0"),
    ]
    assert all(d["digest"].startswith("sha256:") for d in manifest["dependencies"])
    assert (root / "chart" / "deploy" / "umbrella" / "charts" / "cache-1.0.0.tgz").is_file()
    verified = subprocess.run(
        [
            sys.executable,
            "cdk/scripts/release.py",
            *("verify", "--expected-spec-sha256", manifest["spec_sha256"]),
            *("--images", str(tmp_path / "images")),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr

    # The deploy fetches nothing: it runs with no chart repository configured.
    deploy_tmp = tmp_path / "deploy"
    deploy_tmp.mkdir()
    result = deploy(root, spec, deploy_tmp)
    assert result.returncode == 0, result.stderr
    rendered = (deploy_tmp / "rendered.yaml").read_text()
    assert "name: shop-cache" in rendered
    assert all("@sha256:" in image for image in pod_images(rendered))


def test_a_substituted_dependency_archive_stops_the_build(
    chart_repository: str, tmp_path: Path
) -> None:
    """The repository serves another cache-1.0.0.tgz (same name and version, index rewritten to
    match) after the team pinned the first: the build that CI and the release run stops."""
    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    chart = repo / "deploy" / "umbrella"
    (chart / "Chart.yaml").write_text(
        (chart / "Chart.yaml").read_text()
        + f"  - name: cache\n    version: 1.0.0\n    repository: {chart_repository}\n"
    )
    env = {**os.environ, **helm_env(tmp_path)}
    subprocess.run([str(HELM), "dependency", "update", str(chart)], env=env, check=True)
    pin(chart)
    shutil.rmtree(chart / "charts")
    load((repo / "pipeline.yaml").read_text(), file="pipeline.yaml", repository=WorkingTree(repo))

    source, served = tmp_path / "cache", tmp_path / "served"
    (source / "templates" / "job.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: swapped\n"
    )
    subprocess.run([str(HELM), "package", str(source), "-d", str(served)], env=env, check=True)
    subprocess.run(
        [str(HELM), "repo", "index", str(served), "--url", chart_repository], env=env, check=True
    )
    built = build_dependencies(chart, tmp_path)
    assert built.returncode != 0
    assert "charts/cache-1.0.0.tgz: FAILED" in built.stdout


def test_pins_must_list_exactly_the_remote_dependencies(tmp_path: Path) -> None:
    """A pins file that misses a remote dependency, names another, or is not sha256sum's
    format is a located error (no network: the lock says what is remote)."""
    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    chart = repo / "deploy" / "umbrella"
    (chart / "Chart.yaml").write_text(
        (chart / "Chart.yaml").read_text()
        + "  - name: cache\n    version: 1.0.0\n    repository: https://charts.example.com\n"
    )
    (chart / "Chart.lock").write_text(
        "dependencies:\n"
        "- name: service\n  repository: file://../../services/service\n  version: 0.1.0\n"
        "- name: service\n  repository: file://../../services/service\n  version: 0.1.0\n"
        "- name: cache\n  repository: https://charts.example.com\n  version: 1.0.0\n"
        'digest: sha256:0\ngenerated: "2026-01-01T00:00:00Z"\n'
    )
    text = (repo / "pipeline.yaml").read_text()
    for pins, says in [
        (f"{'a' * 64}  charts/cache-0.9.0.tgz\n", "missing charts/cache-1.0.0.tgz; not a remote"),
        (f"{'a' * 64} charts/cache-1.0.0.tgz\n", "line 1 is not"),
        (f"{'a' * 64}  ../../evil.tgz\n", "line 1 is not"),
    ]:
        (chart / "charts.sha256").write_text(pins)
        with pytest.raises(SpecError) as raised:
            load(text, file="pipeline.yaml", repository=WorkingTree(repo))
        [diagnostic] = raised.value.diagnostics
        assert says in diagnostic.message, diagnostic.message
    (chart / "charts.sha256").write_text(f"{'a' * 64}  charts/cache-1.0.0.tgz\n")
    load(text, file="pipeline.yaml", repository=WorkingTree(repo))


def test_a_vendored_subchart_that_still_names_its_repository_is_told_how_to_use_the_folder(
    tmp_path: Path,
) -> None:
    """A team copies a public chart into charts/ and keeps Chart.yaml's upstream repository:
    without a lock Helm would fetch it; the hint names the vendored folder and
    `repository: ""`, with which Helm takes the folder as it is."""
    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    chart = repo / "deploy" / "umbrella"
    original = (chart / "Chart.yaml").read_text()
    (chart / "Chart.yaml").write_text(
        original
        + "  - name: cache\n    version: 1.0.0\n    repository: oci://registry-1.docker.io/bitnamicharts\n"
    )
    (chart / "charts" / "cache").mkdir(parents=True)
    (chart / "charts" / "cache" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: cache\nversion: 1.0.0\n"
    )
    spec_text = (repo / "pipeline.yaml").read_text()
    with pytest.raises(SpecError) as raised:
        load(spec_text, file="pipeline.yaml", repository=WorkingTree(repo))
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.message == "'deploy/umbrella' has remote dependencies but no Chart.lock"
    assert diagnostic.hint.startswith(
        "cache is vendored in 'deploy/umbrella/charts/': set `repository: \"\"` on its "
        "dependency in Chart.yaml"
    )
    (chart / "Chart.yaml").write_text(
        original + '  - name: cache\n    version: 1.0.0\n    repository: ""\n'
    )
    load(spec_text, file="pipeline.yaml", repository=WorkingTree(repo))

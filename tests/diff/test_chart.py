"""What a pull request does to each cluster: `diff` renders the chart at both revisions with the
pinned Helm (tests/helm/bin), for every environment, and reports objects as rule rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from pipelinegen.cli import cli
from tests.conftest import ROOT, init_repo
from tests.snapshot import git

HELM = ROOT / "tests" / "helm" / "bin" / "helm"
REPOS = ROOT / "tests" / "chart" / "repos"
pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The umbrella chart with list sidecars, compiled and committed on main; a branch."""
    root = tmp_path / "platform"
    shutil.copytree(REPOS / "sidecars", root)
    result = CliRunner().invoke(cli, ["compile", str(root / "pipeline.yaml")])
    assert result.exit_code == 0, result.output
    init_repo(root)
    git(root, "checkout", "-q", "-b", "feature")
    monkeypatch.setenv("PATH", f"{HELM.parent}:{Path('/usr/bin')}:{Path('/bin')}")
    return root


def diff(repo: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["diff", str(repo / "pipeline.yaml"), "--base", "main", *args])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(repo: Path) -> list[tuple[str, str]]:
    return [
        (c["rule"], c["message"]) for c in json.loads(diff(repo, "--format", "json"))["changes"]
    ]


def test_a_values_file_edit_names_the_objects_it_changes_per_environment(repo: Path) -> None:
    """Only prod's values file changes: prod's Deployment and nothing of staging's."""
    values = repo / "deploy" / "values-prod.yaml"
    values.write_text(values.read_text().replace("replicaCount: 4", "replicaCount: 6"))
    git(repo, "commit", "-qam", "more orders workers in prod")
    assert rows(repo) == [
        (
            "chart-replicas",
            "environment 'prod': 'Deployment/platform-orders-orders' replicas '6' (before: '4')",
        )
    ]
    comment = diff(repo, "--format", "markdown")
    assert (
        "| ⚪ low | chart | environment `prod`: `Deployment/platform-orders-orders` replicas "
        "`6` (before: `4`) |"
    ) in comment


def test_a_new_cluster_role_is_high_in_every_environment(repo: Path) -> None:
    template = repo / "deploy" / "platform" / "templates" / "reader.yaml"
    template.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
        "  name: {{ .Release.Name }}-reader\nrules:\n"
        '  - apiGroups: [""]\n    resources: [secrets]\n    verbs: [get, list]\n'
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "read secrets")
    found = rows(repo)
    assert found == [
        (
            "chart-cluster-scoped",
            f"environment '{e}': the chart adds the cluster-scoped 'ClusterRole/platform-reader'",
        )
        for e in ("staging", "prod")
    ] + [
        (
            "chart-rbac-granted",
            f"environment '{e}': 'ClusterRole/platform-reader' grants 'get,list on secrets (\"\")'",
        )
        for e in ("staging", "prod")
    ]
    assert "⚠️" in diff(repo, "--format", "markdown").splitlines()[0]


def test_a_sidecar_image_change_is_shown_with_what_it_replaces(repo: Path) -> None:
    """The sidecar is mapped to the spec's logship image; pointing billing's audit shipper at an
    upstream image shows up as the workload's images changing."""
    spec = repo / "pipeline.yaml"
    spec.write_text(
        spec.read_text().replace('      - {reference: "billing.sidecars[1].image"}\n', "")
    )
    values = repo / "deploy" / "platform" / "values.yaml"
    text = values.read_text()
    values.write_text(
        text.replace(
            "audit-shipper\n      image: docker.io/fluent/fluent-bit:3.0",
            "audit-shipper\n      image: docker.io/acme/audit:2",
        )
    )
    CliRunner().invoke(cli, ["compile", str(spec)])
    git(repo, "commit", "-qam", "audit shipper of its own")
    found = [message for rule, message in rows(repo) if rule == "chart-images"]
    assert len(found) == 2  # staging and prod
    assert "audit-shipper=docker.io/acme/audit:2" in found[0]


def test_a_remote_dependency_that_is_not_vendored_is_said_not_fetched(repo: Path) -> None:
    chart = repo / "deploy" / "platform" / "Chart.yaml"
    chart.write_text(
        chart.read_text()
        + "  - name: redis\n    version: 20.x.x\n    repository: oci://registry-1.docker.io/bitnamicharts\n"
    )
    (repo / "deploy" / "platform" / "Chart.lock").write_text(
        'dependencies:\n- name: worker\n  repository: ""\n  version: 0.4.2\n'
        '- name: worker\n  repository: ""\n  version: 0.4.2\n'
        "- name: redis\n  repository: oci://registry-1.docker.io/bitnamicharts\n  version: 20.1.0\n"
        "digest: sha256:" + "0" * 64 + '\ngenerated: "2026-12-01T00:00:00Z"\n'
    )
    # the archive's pin, as the team commits it (pipelinegen.chart.pins), not the archive
    (repo / "deploy" / "platform" / "charts.sha256").write_text(
        "1" * 64 + "  charts/redis-20.1.0.tgz\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a cache")
    found = [message for rule, message in rows(repo) if rule == "chart-unrendered"]
    assert len(found) == 2
    assert "the chart at 'working tree' cannot be rendered" in found[0]
    assert "redis" in found[0]


def test_the_pr_workflow_runs_for_chart_and_values_changes() -> None:
    workflow = YAML(typ="safe").load(
        (ROOT / "examples" / "full" / ".github" / "workflows" / "pipelinegen-pr.yml").read_text()
    )
    paths = workflow["on"]["pull_request"]["paths"]
    assert {"deploy/helm/platform/**", "**/Chart.yaml", "**/templates/**"} <= set(paths)
    assert "deploy/helm/values-prod.yaml" in paths
    steps = [step["name"] for step in workflow["jobs"]["diff"]["steps"]]
    assert steps.index("Install Helm v4.1.4") < steps.index("Compare with the base branch")

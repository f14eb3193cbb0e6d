"""The rehearsal's cluster stand-in (cluster.py, helm_shim.py, kubectl_shim.py) under deploy.sh:
it refuses what the environment's access refuses, holds each release's apply manager, and lets
the default access deploy a chart with a Role, a RoleBinding and a ServiceMonitor. AWS is the
scripts tests' fake `aws` (tests/cdk/fake_tool.py); Helm renders for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelinegen import access
from pipelinegen.render.cdk import resolved
from pipelinegen.spec.load import load
from tests.cdk import conftest as scripts
from tests.cdk.conftest import DEPLOY, Fakes, run_script
from tests.rehearsal.cluster import CLUSTER_KINDS
from tests.rehearsal.helm_shim import apply_method
from tests.rehearsal.rehearsal import HELM

HERE = Path(__file__).parent
release = scripts.release  # the scripts tests' fixtures: an extracted release, the fake tools
fakes = scripts.fakes
SPEC = """\
version: 1
name: acme-platform
github: {repository: acme/platform}
aws: {account: "111111111111", region: us-east-1}
images: [{name: api, values: api.image}, {name: web}]
helm: {chart: deploy/helm/platform}
environments:
  - name: staging
    cluster: acme-staging
    namespace: platform
    api_versions: [monitoring.coreos.com/v1]
"""
# The same environment once the team grants the chart's ClusterRole (compiled, not yet applied).
GRANTED = SPEC + "    access: {cluster_kinds: [ClusterRole], cluster_roles: [platform-nodes]}\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: platform-api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: "{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"
"""
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: api-reader}
rules: [{apiGroups: [""], resources: [configmaps, secrets], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: api-reader}
subjects: [{kind: ServiceAccount, name: default, namespace: platform}]
"""
MONITOR = """\
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api}
spec: {endpoints: [{port: http}], selector: {matchLabels: {app: api}}}
"""
CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: platform-nodes}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]
"""
ENV = {
    "ENVIRONMENT": "staging",
    "CLUSTER": "acme-staging",
    "CLUSTER_REGION": "us-east-1",
    "NAMESPACE": "platform",
    "DEPLOY_ROLE_ARN": "arn:aws:iam::111111111111:role/acme-platform-deploy-staging",
    "HELM_RELEASE": "platform",
    "ECR_REGISTRY": "111111111111.dkr.ecr.us-east-1.amazonaws.com",
    "ECR_PREFIX": "acme-platform",
    "VALUES_FILES": "",
    "REHEARSAL_HELM": str(HELM),
}


@pytest.fixture
def stand_in(release: Path, fakes: Fakes, tmp_path: Path) -> Path:
    """The fakes' helm and kubectl replaced by the cluster stand-in; its state folder."""
    for tool, shim in (("helm", "helm_shim.py"), ("kubectl", "kubectl_shim.py")):
        (fakes.bin / tool).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / shim}" "$@"\n')
        (fakes.bin / tool).chmod(0o755)
    fakes.configure(kubeconfig_server="https://acme-staging.example")
    clusters = tmp_path / "clusters"
    (clusters / "c").mkdir(parents=True)
    compiled(release)
    return clusters


def compiled(release: Path, text: str = SPEC) -> None:
    """The release's pipeline.json as `pipelinegen compile` writes it from `text` (the chart
    check reads its image mappings and its environments' api_versions and access)."""
    pipeline = resolved(load(text, file="pipeline.yaml"), scripts.SPEC_SHA256)
    (release / "cdk" / "pipeline.json").write_text(json.dumps(pipeline, indent=2) + "\n")


def bootstrap(clusters: Path, *, text: str = SPEC, without: tuple[str, ...] = ()) -> None:
    """What an admin does once: apply deploy/cdk/kubernetes/staging.yaml as compiled from
    `text`; the access entry names its group."""
    spec = load(text, file="pipeline.yaml")
    [environment] = spec.environments
    objects = [o for o in access.manifests(spec, environment) if o["kind"] not in without]
    state = {"group": access.group(spec, environment), "objects": objects}
    (clusters / "c" / "access.json").write_text(json.dumps(state))


def chart(release: Path, *templates: str) -> None:
    folder = release / "chart" / "deploy" / "helm" / "platform" / "templates"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for index, text in enumerate(templates):
        (folder / f"t{index}.yaml").write_text(text)


def deploy(
    release: Path, fakes: Fakes, clusters: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    full = {**ENV, "REHEARSAL_CLUSTERS": str(clusters), **env}
    return run_script(DEPLOY, cwd=release, env=full, fakes=fakes)


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_the_stand_in_knows_the_cluster_scoped_kinds_pipelinegen_grants() -> None:
    assert set(access.CLUSTER_KINDS) == CLUSTER_KINDS


def test_the_default_access_deploys_a_role_a_rolebinding_and_a_servicemonitor(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    bootstrap(stand_in)
    chart(release, DEPLOYMENT, ROLE, MONITOR)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 0, result.stderr
    rendered = (stand_in / "c" / "platform" / "platform.yaml").read_text()
    assert all(f"kind: {kind}\n" in rendered for kind in ("Role", "RoleBinding", "ServiceMonitor"))


def test_a_cluster_scoped_kind_the_access_does_not_grant_is_refused_before_anything_runs(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    """The chart check (validate's code) refuses it before the cluster is asked anything: the
    preflight, which would refuse it too (the cluster grants the namespace only), never runs."""
    bootstrap(stand_in)
    chart(release, DEPLOYMENT, CLUSTER_ROLE)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 1
    subject = "error: ClusterRole/platform-nodes (platform/templates/t1.yaml): "
    assert errors(result) == [
        f"{subject}ClusterRole is cluster-scoped, and environment 'staging' may create objects "
        "in its namespace only: grant the kind: add ClusterRole to "
        "environments[staging].access.cluster_kinds",
        f"{subject}the chart creates ClusterRole 'platform-nodes', which the deploy identity may "
        "not grant: add 'platform-nodes' to environments[staging].access.cluster_roles",
        "error: the chart check refused the release for staging: see above; nothing was deployed",
    ]
    assert not (stand_in / "c" / "platform" / "platform.yaml").exists()


def test_a_granted_cluster_scoped_kind_the_cluster_was_not_bootstrapped_for_fails_the_preflight(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    """The spec grants the ClusterRole and compiles; the admin has not applied the new
    staging.yaml, so the cluster's RBAC still grants the namespace only."""
    compiled(release, GRANTED)
    bootstrap(stand_in)
    chart(release, DEPLOYMENT, CLUSTER_ROLE)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 1
    [error] = errors(result)
    assert error.startswith(
        "error: the deploy role may not create rbac.authorization.k8s.io/v1 ClusterRole in EKS "
        "cluster acme-staging (namespace platform): grant them in environments[].access"
    )
    assert not (stand_in / "c" / "platform" / "platform.yaml").exists()
    bootstrap(stand_in, text=GRANTED)  # the admin applies it: the same release deploys
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 0, result.stderr
    assert "kind: ClusterRole\n" in (stand_in / "c" / "platform" / "platform.yaml").read_text()


def test_without_the_bootstrap_the_preflight_names_the_file_to_apply(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    chart(release, DEPLOYMENT)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 1
    assert errors(result)[0].startswith(
        "error: namespace platform does not exist in EKS cluster acme-staging: an admin applies "
        "cdk/kubernetes/staging.yaml"
    )


def test_a_role_without_the_rbac_grant_is_refused_by_the_escalation_check(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    """With only the `admin` binding (an access policy's reach, in RBAC terms), the preflight's
    `can-i create roles` says yes, and the API server's escalation check still refuses."""
    bootstrap(stand_in, without=("Role",))
    chart(release, DEPLOYMENT, ROLE)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 1
    assert 'roles.rbac.authorization.k8s.io "api-reader" is forbidden: user is attempting to ' \
        "grant RBAC permissions not currently held" in result.stderr  # fmt: skip


def scale(fakes: Fakes, stand_in: Path) -> None:
    """`kubectl scale` by someone else, against the cluster the deploy's kubeconfig names."""
    kubeconfig = stand_in / "kubeconfig"
    kubeconfig.write_text(json.dumps({"contexts": [{"name": "x", "context": {"cluster": "c"}}]}))
    done = subprocess.run(
        [str(fakes.bin / "kubectl"), "scale", "deployment/platform-api", "--replicas=5",
         "--namespace", "platform", "--context", "x"],
        env={"REHEARSAL_CLUSTERS": str(stand_in), "KUBECONFIG": str(kubeconfig)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_an_upgrade_after_kubectl_scale_conflicts_unless_the_spec_takes_the_field_over(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    bootstrap(stand_in)
    chart(release, DEPLOYMENT)
    assert deploy(release, fakes, stand_in).returncode == 0
    scale(fakes, stand_in)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 1
    assert (
        "server-side apply conflicts: field manager 'kubectl-scale' owns .spec.replicas"
        in (errors(result)[0])
    )
    assert "environments[].helm.force_conflicts: true" in errors(result)[0]
    result = deploy(release, fakes, stand_in, FORCE_CONFLICTS="true")
    assert result.returncode == 0, result.stderr
    assert "--force-conflicts" in result.stdout


def test_a_release_helm_3_wrote_upgrades_client_side_after_kubectl_scale(
    release: Path,
    fakes: Fakes,
    stand_in: Path,
) -> None:
    bootstrap(stand_in)
    chart(release, DEPLOYMENT)
    history = stand_in / "c" / "platform" / "platform.history.jsonl"
    history.parent.mkdir(parents=True)
    history.write_text(json.dumps({"status": "deployed", "args": []}) + "\n")  # no applyMethod
    scale(fakes, stand_in)
    result = deploy(release, fakes, stand_in)
    assert result.returncode == 0, result.stderr
    assert "--server-side=false" in result.stdout
    assert json.loads(history.read_text().splitlines()[-1])["applyMethod"] == "csa"


def test_force_conflicts_on_a_client_side_release_is_refused_as_helm_refuses_it() -> None:
    helm3 = [{"status": "deployed"}]
    assert apply_method(["--force-conflicts"], helm3) == (
        False,
        "forceConflicts enabled when serverSideApply disabled",
    )
    assert apply_method(["--server-side=true", "--force-conflicts"], helm3) == (True, "")
    assert apply_method([], []) == (True, "")  # a new release: server-side

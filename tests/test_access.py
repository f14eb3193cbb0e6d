"""The RBAC compile writes per environment: valid Kubernetes objects (checked against the published
OpenAPI schemas by kubernetes-validate, read back by Helm's own YAML reader), as narrow as the
environment's access, and written beside the CDK app."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipelinegen import access
from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Environment, Spec
from tests.conftest import ROOT

HELM = ROOT / "tests" / "helm" / "bin" / "helm"
SPEC = """\
version: 1
name: acme-platform
github: {repository: acme/platform}
aws: {account: "111111111111", region: us-east-1}
images: [{name: api, values: api.image}]
helm: {chart: deploy/helm/platform}
environments:
  - name: staging
    cluster: acme-staging
    namespace: platform
    api_versions: [monitoring.coreos.com/v1, monitoring.coreos.com/v1alpha1]
  - name: prod
    cluster: acme-prod
    namespace: platform
    api_versions: [cert-manager.io/v1]
    access:
      cluster_kinds: [ClusterRole, ClusterRoleBinding, ValidatingWebhookConfiguration,
                      ClusterIssuer]
      cluster_roles: [platform-controller]
  - name: lab
    cluster: acme-lab
    namespace: lab
    access: {cluster_admin: true}
"""


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load(SPEC, file="pipeline.yaml")


def environment(spec: Spec, name: str) -> Environment:
    return next(env for env in spec.environments if env.name == name)


def by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in objects:
        found.setdefault(item["kind"], []).append(item)
    return found


@pytest.mark.parametrize("name", ["staging", "prod", "lab"])
def test_every_object_is_valid_for_the_kubernetes_versions_eks_runs(spec: Spec, name: str) -> None:
    objects = list(yaml.safe_load_all(access.document(spec, environment(spec, name))))
    assert objects == access.manifests(spec, environment(spec, name))
    for version in ("1.29.0", "1.35.0"):
        for item in objects:
            kubernetes_validate.validate(item, version, strict=True)


def test_helm_reads_the_file_as_kubernetes_objects(spec: Spec, tmp_path: Path) -> None:
    """Helm's own YAML reader (the one `kubectl apply` shares: sigs.k8s.io/yaml) reads the same
    objects (Helm sorts them in its install order)."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: rbac\nversion: 0.0.0\n")
    text = access.document(spec, environment(spec, "prod"))
    (chart / "rbac.yaml").write_text(text)
    (chart / "templates" / "all.yaml").write_text(
        '{{ range (.Files.Get "rbac.yaml" | splitList "\\n---\\n") }}'
        '{{ if contains "kind:" . }}---\n{{ . | fromYaml | toJson }}\n{{ end }}{{ end }}'
    )
    result = subprocess.run(
        [str(HELM), "template", "x", str(chart)], capture_output=True, text=True, check=True
    )
    read = [json.loads(doc.splitlines()[-1]) for doc in result.stdout.split("---\n")[1:]]
    expected = access.manifests(spec, environment(spec, "prod"))
    assert sorted(json.dumps(o, sort_keys=True) for o in read) == sorted(
        json.dumps(o, sort_keys=True) for o in expected
    )


def test_the_default_binds_admin_in_the_namespace_and_grants_the_custom_resources(
    spec: Spec,
) -> None:
    objects = by_kind(access.manifests(spec, environment(spec, "staging")))
    assert sorted(objects) == ["Namespace", "Role", "RoleBinding"]  # nothing cluster-wide
    group = {"apiGroup": access.RBAC, "kind": "Group", "name": "pipelinegen:acme-platform:staging"}
    admin, own = objects["RoleBinding"]
    assert admin["roleRef"] == {"apiGroup": access.RBAC, "kind": "ClusterRole", "name": "admin"}
    assert admin["subjects"] == own["subjects"] == [group]
    assert {admin["metadata"]["namespace"], own["metadata"]["namespace"]} == {"platform"}
    assert own["roleRef"]["name"] == objects["Role"][0]["metadata"]["name"]
    rules = objects["Role"][0]["rules"]
    assert rules[0] == {
        "apiGroups": ["monitoring.coreos.com"],  # both versions, one group
        "resources": ["*"],
        "verbs": access.OBJECT_VERBS,
    }
    assert rules[1] == {"apiGroups": [access.RBAC], "resources": ["roles"],
                        "verbs": ["bind", "escalate"]}  # fmt: skip
    assert rules[2]["resourceNames"] == ["admin", "edit", "view"]
    assert rules[2]["verbs"] == ["bind"]


def test_granted_cluster_kinds_get_exactly_those_kinds(spec: Spec) -> None:
    objects = by_kind(access.manifests(spec, environment(spec, "prod")))
    (cluster_role,) = objects["ClusterRole"]
    rules = {(rule["apiGroups"][0], *rule.get("resourceNames", [])): rule for rule in
             cluster_role["rules"]}  # fmt: skip
    assert rules["admissionregistration.k8s.io",]["resources"] == [
        "validatingwebhookconfigurations"
    ]
    assert rules["cert-manager.io",]["resources"] == ["clusterissuers"]  # a custom cluster kind
    assert rules[access.RBAC,]["resources"] == ["clusterrolebindings", "clusterroles"]
    escalate = rules[access.RBAC, "platform-controller"]
    assert escalate == {
        "apiGroups": [access.RBAC],
        "resources": ["clusterroles"],
        "resourceNames": ["platform-controller"],
        "verbs": ["bind", "escalate"],
    }
    (binding,) = objects["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    every = {r for rule in cluster_role["rules"] for r in rule["resources"]}
    assert "*" not in every and "namespaces" not in every
    namespaced = objects["Role"][0]["rules"]
    assert namespaced[-1]["resourceNames"] == ["admin", "edit", "platform-controller", "view"]


def test_cluster_admin_is_a_binding_to_cluster_admin(spec: Spec) -> None:
    objects = by_kind(access.manifests(spec, environment(spec, "lab")))
    (binding,) = objects["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"][0]["name"] == "pipelinegen:acme-platform:lab"
    assert "ClusterRole" not in objects  # no kinds granted: no ClusterRole of our own


@pytest.mark.parametrize(("kind", "resource"), [("ClusterIssuer", "clusterissuers"),
                         ("Policy", "policies"), ("Gateway", "gateways")])  # fmt: skip
def test_a_custom_kind_is_named_as_kubernetes_guesses_it(kind: str, resource: str) -> None:
    assert access.resource_of(kind) == resource


def test_compile_writes_one_file_per_environment_and_the_access_entry_names_the_group(
    spec: Spec,
) -> None:
    files = render(spec, Source("pipeline.yaml", SPEC))
    for env in spec.environments:
        text = files[f"deploy/cdk/kubernetes/{env.name}.yaml"]
        assert text.startswith("# Generated by pipelinegen")
        assert f"kubectl apply --server-side -f deploy/cdk/kubernetes/{env.name}.yaml" in text
    pipeline = json.loads(files["deploy/cdk/pipeline.json"])
    assert [env["kubernetes_group"] for env in pipeline["environments"]] == [
        "pipelinegen:acme-platform:staging",
        "pipelinegen:acme-platform:prod",
        "pipelinegen:acme-platform:lab",
    ]
    assert pipeline["environments"][0]["access_manifest"] == "cdk/kubernetes/staging.yaml"

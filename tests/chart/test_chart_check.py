"""The one chart check through the entry points that run it: `pipelinegen validate` (with the
pinned Helm 4 on PATH) and the CI `chart` job's script (render-chart.sh, as the compiled workflow
runs it), on charts written the way real repositories write them: a newcomer's chart with a
RabbitMQ StatefulSet, a busybox initContainer and an image handed to a controller in an env
value; an operator chart with its CRD in crds/, a ClusterRole, a webhook, a ServiceMonitor behind
a Capabilities check; an old PodDisruptionBudget; a template that swaps the image on upgrade."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree
from tests.chart.test_deploy import HELM, helm_env

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")

DIGEST = "sha256:" + "4" * 64
REGISTRY = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
SPEC = """\
version: 1
name: shop
github: {repository: acme/shop}
aws: {account: "111111111111", region: us-east-1}
images:
  - name: api
    context: services/api
    values: api.image
helm:
  chart: deploy/shop
environments:
  - name: staging
    cluster: acme-staging
    namespace: shop
"""
CHART = "apiVersion: v2\nname: shop\nversion: 0.3.1\nappVersion: 0.3.1\n"
API = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-api
  labels: {{- include "shop.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.api.replicas }}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: "{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"
          ports:
            - containerPort: 8080
"""
HELPERS = """\
{{- define "shop.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
"""
VALUES = """\
api:
  replicas: 2
  image:
    repository: ghcr.io/acme/api
    tag: latest
"""
# The newcomer's chart: RabbitMQ as the official image's docs run it, a busybox wait, and a
# controller that starts jobs from an image it is handed in an env value.
NEWCOMER_VALUES = """\
rabbitmq:
  image:
    repository: rabbitmq
    tag: 3.13-management-alpine
  waitImage: busybox:1.36
controller:
  jobImage: docker.io/bitnami/kubectl:1.31.0
"""
RABBITMQ = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-rabbitmq
spec:
  serviceName: {{ .Release.Name }}-rabbitmq
  replicas: 1
  selector:
    matchLabels: {app: rabbitmq}
  template:
    metadata:
      labels: {app: rabbitmq}
    spec:
      initContainers:
        - name: wait-for-volume
          image: {{ .Values.rabbitmq.waitImage }}
          command: ["sh", "-c", "chown -R 999:999 /var/lib/rabbitmq"]
      containers:
        - name: rabbitmq
          image: "{{ .Values.rabbitmq.image.repository }}:{{ .Values.rabbitmq.image.tag }}"
          ports:
            - {name: amqp, containerPort: 5672}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-controller
spec:
  selector:
    matchLabels: {app: controller}
  template:
    metadata:
      labels: {app: controller}
    spec:
      containers:
        - name: controller
          image: "{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"
          env:
            - name: JOB_IMAGE
              value: {{ .Values.controller.jobImage | quote }}
            - name: JOB_NAMESPACE
              value: {{ .Release.Namespace }}
"""
# An operator chart: its CRD in crds/, cluster RBAC, a webhook, namespaced RBAC, a custom resource
# of its own CRD, and a ServiceMonitor only when the cluster serves the Prometheus Operator's API.
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.shop.example.com
spec:
  group: shop.example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
OPERATOR = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-operator
rules:
  - apiGroups: [shop.example.com]
    resources: [widgets]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-operator
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ .Release.Name }}-operator
subjects:
  - kind: ServiceAccount
    name: {{ .Release.Name }}-operator
    namespace: {{ .Release.Namespace }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {{ .Release.Name }}-widgets
webhooks:
  - name: widgets.shop.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    clientConfig:
      service: {name: {{ .Release.Name }}-api, namespace: {{ .Release.Namespace }}}
    rules:
      - apiGroups: [shop.example.com]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [widgets]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}-leader-election
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .Release.Name }}-leader-election
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .Release.Name }}-leader-election
subjects:
  - {kind: ServiceAccount, name: {{ .Release.Name }}-operator}
---
apiVersion: shop.example.com/v1
kind: Widget
metadata:
  name: default
spec: {size: 3}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .Release.Name }}-api
spec:
  selector:
    matchLabels: {app: api}
  endpoints:
    - port: http
{{- end }}
"""
PDB = """\
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}-api
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: api}
"""


def write_repo(folder: Path, spec: str, files: dict[str, str]) -> Path:
    """A repository with the spec, a Dockerfile, the chart's files; compiled as a user would."""
    (folder / "services" / "api").mkdir(parents=True)
    (folder / "services" / "api" / "Dockerfile").write_text("FROM scratch\n")
    (folder / "pipeline.yaml").write_text(spec)
    chart = {"Chart.yaml": CHART, "values.yaml": VALUES, "templates/_helpers.tpl": HELPERS}
    chart["templates/api.yaml"] = API
    for path, text in {**chart, **files}.items():
        target = folder / "deploy" / "shop" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path == "values.yaml" and path in files:
            text = VALUES + files[path]
        target.write_text(text)
    return folder


def compiled(folder: Path) -> Path:
    text = (folder / "pipeline.yaml").read_text()
    spec = load(text, file="pipeline.yaml", repository=WorkingTree(folder))
    for path, content in render(spec, Source("pipeline.yaml", text)).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(content)
    return folder


def validate(folder: Path, *, helm: bool = True) -> subprocess.CompletedProcess[str]:
    """`pipelinegen validate` in the repository, with the pinned Helm on PATH (or none)."""
    path = [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    env = {**os.environ, **helm_env(folder.parent), "PATH": os.pathsep.join(path)}
    if helm:
        env["PATH"] = os.pathsep.join([str(HELM.parent), env["PATH"]])
    return subprocess.run(
        [sys.executable, "-m", "pipelinegen", "validate"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def chart_job(folder: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """The CI `chart` job's step for the environment `staging`, as the compiled workflow runs
    it (its environment variables read back from the workflow), with `extra` environment."""
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load(folder / ".github" / "workflows" / "pipelinegen-ci.yml")
    (step,) = [s for s in workflow["jobs"]["chart"]["steps"] if s.get("name") == "Render staging"]
    path = os.pathsep.join([str(HELM.parent), str(Path(sys.executable).parent), "/usr/bin:/bin"])
    env = {"PATH": path, "HOME": str(folder.parent), **helm_env(folder.parent), **step["env"]}
    env.update(extra)
    return subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def newcomer(tmp_path: Path, spec: str = SPEC, pinned: bool = False) -> Path:
    values = NEWCOMER_VALUES
    if pinned:
        values = (
            values.replace("3.13-management-alpine", f"3.13-management-alpine@{DIGEST}")
            .replace("busybox:1.36", f"busybox:1.36@{DIGEST}")
            .replace("kubectl:1.31.0", f"kubectl:1.31.0@{DIGEST}")
        )
    files = {"values.yaml": values, "templates/rabbitmq.yaml": RABBITMQ}
    return compiled(write_repo(tmp_path / "repo", spec, files))


def test_the_newcomers_third_party_images_fail_validate_and_the_chart_job(tmp_path: Path) -> None:
    repo = newcomer(tmp_path)
    checked = validate(repo)
    assert checked.returncode == 1, checked.stderr
    for reference, where in (
        ("rabbitmq:3.13-management-alpine", "StatefulSet/shop-rabbitmq"),
        ("busybox:1.36", "initContainers 'wait-for-volume'"),
        ("docker.io/bitnami/kubectl:1.31.0", "containers 'controller' env JOB_IMAGE"),
    ):
        line = next(line for line in checked.stderr.splitlines() if f"'{reference}'" in line)
        assert line.startswith("pipeline.yaml:12:5: environment 'staging': "), line
        assert where in line and "is not pinned by digest" in line, line
    assert "declare it in `third_party_images` (name: rabbitmq, image: " in checked.stderr
    assert "the chart reads it from rabbitmq.image.repository, rabbitmq.image.tag" in (
        checked.stderr
    )
    assert "the chart reads it from rabbitmq.waitImage" in checked.stderr
    assert "the chart reads it from controller.jobImage" in checked.stderr
    job = chart_job(repo)
    assert job.returncode == 1
    assert "runs 'rabbitmq:3.13-management-alpine', which is not pinned by digest" in job.stderr
    assert "declare it in `third_party_images`" in job.stderr
    assert "error: the chart check refused what staging would deploy" in job.stderr


def test_declared_third_party_images_pinned_by_digest_pass(tmp_path: Path) -> None:
    spec = SPEC + (
        "third_party_images:\n"
        f"  - {{name: rabbitmq, image: 'rabbitmq:3.13-management-alpine@{DIGEST}'}}\n"
        f"  - {{name: busybox, image: 'docker.io/library/busybox:1.36@{DIGEST}'}}\n"
        f"  - {{name: kubectl, image: 'docker.io/bitnami/kubectl:1.31.0@{DIGEST}'}}\n"
    )
    repo = newcomer(tmp_path, spec, pinned=True)
    checked = validate(repo)
    assert (checked.returncode, checked.stdout) == (0, "pipeline.yaml: valid\n"), checked.stderr
    job = chart_job(repo)
    assert job.returncode == 0, job.stderr
    assert "rendered as install, as upgrade" in job.stdout


def test_a_declared_image_at_another_digest_is_refused(tmp_path: Path) -> None:
    other = "sha256:" + "5" * 64
    spec = SPEC + (
        "third_party_images:\n"
        f"  - {{name: rabbitmq, image: 'rabbitmq:3.13-management-alpine@{other}'}}\n"
    )
    repo = newcomer(tmp_path, spec, pinned=True)
    job = chart_job(repo)
    assert job.returncode == 1
    assert (
        f"runs 'rabbitmq:3.13-management-alpine@{DIGEST}', which is pinned by another digest "
        "than the spec declares" in job.stderr
    )


def test_an_image_swapped_on_upgrade_fails_the_chart_job(tmp_path: Path) -> None:
    swapped = API.replace(
        'image: "{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"',
        "image: {{ if .Release.IsUpgrade }}ghcr.io/acme/api:latest{{ else }}"
        '"{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"{{ end }}',
    )
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/api.yaml": swapped}))
    job = chart_job(repo)
    assert job.returncode == 1
    (line,) = [line for line in job.stderr.splitlines() if "ghcr.io/acme/api:latest" in line]
    assert line.startswith("error: Deployment/shop-api (shop/templates/api.yaml) containers")
    assert line.endswith("[as upgrade]")
    checked = validate(repo)
    assert checked.returncode == 1
    assert "pipeline.yaml:8:13: Deployment/shop-api" in checked.stderr
    assert "(only as upgrade)" in checked.stderr


def test_an_undeclared_latest_sidecar_fails_the_chart_job(tmp_path: Path) -> None:
    sidecar = API + (
        "        - name: log-shipper\n          image: docker.io/fluent/fluent-bit:latest\n"
    )
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/api.yaml": sidecar}))
    job = chart_job(repo)
    assert job.returncode == 1
    assert (
        "error: Deployment/shop-api (shop/templates/api.yaml) containers 'log-shipper': runs "
        "'docker.io/fluent/fluent-bit:latest', which is not pinned by digest: declare it in "
        "`third_party_images` (name: fluent-bit, image: "
        "docker.io/fluent/fluent-bit:latest@sha256:<digest>)" in job.stderr
    )


OPERATOR_FILES = {"crds/widgets.yaml": CRD, "templates/operator.yaml": OPERATOR}


def test_cluster_scoped_objects_are_refused_until_the_environment_grants_them(
    tmp_path: Path,
) -> None:
    repo = compiled(write_repo(tmp_path / "repo", SPEC, OPERATOR_FILES))
    checked = validate(repo)
    assert checked.returncode == 1
    refused = [line for line in checked.stderr.splitlines() if line.startswith("pipeline.yaml:")]
    assert refused[-1] == "pipeline.yaml: 6 problems"
    assert refused[:-1] == [
        "pipeline.yaml:12:5: environment 'staging': ClusterRole/shop-operator "
        "(shop/templates/operator.yaml): ClusterRole is cluster-scoped, and environment "
        "'staging' may create objects in its namespace only",
        "pipeline.yaml:12:5: environment 'staging': ClusterRole/shop-operator "
        "(shop/templates/operator.yaml): the chart creates ClusterRole 'shop-operator', which "
        "the deploy identity may not grant",
        "pipeline.yaml:12:5: environment 'staging': ClusterRoleBinding/shop-operator "
        "(shop/templates/operator.yaml): ClusterRoleBinding is cluster-scoped, and environment "
        "'staging' may create objects in its namespace only",
        "pipeline.yaml:12:5: environment 'staging': ClusterRoleBinding/shop-operator "
        "(shop/templates/operator.yaml): it binds ClusterRole 'shop-operator', which the "
        "deploy identity may not bind",
        "pipeline.yaml:12:5: environment 'staging': CustomResourceDefinition/"
        "widgets.shop.example.com (shop/crds/widgets.yaml): CustomResourceDefinition is "
        "cluster-scoped, and environment 'staging' may create objects in its namespace only",
        "pipeline.yaml:12:5: environment 'staging': ValidatingWebhookConfiguration/shop-widgets "
        "(shop/templates/operator.yaml): ValidatingWebhookConfiguration is cluster-scoped, and "
        "environment 'staging' may create objects in its namespace only",
    ]
    assert "add ClusterRole to environments[staging].access.cluster_kinds" in checked.stderr
    assert "add 'shop-operator' to environments[staging].access.cluster_roles" in checked.stderr
    job = chart_job(repo)
    assert job.returncode == 1
    assert "ValidatingWebhookConfiguration is cluster-scoped" in job.stderr

    granted = SPEC + (
        "    api_versions: [monitoring.coreos.com/v1]\n"
        "    access:\n"
        "      cluster_kinds: [CustomResourceDefinition, ClusterRole, ClusterRoleBinding,\n"
        "                      ValidatingWebhookConfiguration]\n"
        "      cluster_roles: [shop-operator]\n"
    )
    (repo / "pipeline.yaml").write_text(granted)
    compiled(repo)
    checked = validate(repo)
    assert (checked.returncode, checked.stdout) == (0, "pipeline.yaml: valid\n"), checked.stderr
    job = chart_job(repo)
    assert job.returncode == 0, job.stderr
    # The ServiceMonitor rendered: the cluster serves its API version, so Capabilities has it.
    assert "custom resource (namespaced, CRD not in the chart)" in job.stdout
    assert "custom resource (namespaced, CRD in the chart)" in job.stdout
    assert "rbac (cluster-scoped)" in job.stdout and "rbac (namespaced)" in job.stdout


def test_a_custom_resource_the_cluster_does_not_serve_is_refused(tmp_path: Path) -> None:
    monitor = OPERATOR[OPERATOR.index("---\napiVersion: monitoring") :]
    monitor = monitor.replace("{{- end }}\n", "")
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/monitor.yaml": monitor}))
    checked = validate(repo)
    assert checked.returncode == 1
    assert (
        "pipeline.yaml:12:5: environment 'staging': ServiceMonitor/shop-api "
        "(shop/templates/monitor.yaml): monitoring.coreos.com/v1 ServiceMonitor is a custom "
        "resource whose CRD the chart does not carry" in checked.stderr
    )
    assert "hint: add monitoring.coreos.com/v1 to environments[staging].api_versions" in (
        checked.stderr
    )


def test_an_object_in_another_namespace_is_refused(tmp_path: Path) -> None:
    elsewhere = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: kube-system\n"
    )
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/cm.yaml": elsewhere}))
    job = chart_job(repo)
    assert job.returncode == 1
    assert (
        "ConfigMap/shared (shop/templates/cm.yaml): it is in namespace 'kube-system', and "
        "environment 'staging' deploys to 'shop' only" in job.stderr
    )


def test_a_removed_api_version_fails_naming_its_replacement(tmp_path: Path) -> None:
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/pdb.yaml": PDB}))
    checked = validate(repo)
    assert checked.returncode == 1
    assert (
        "pipeline.yaml:12:5: environment 'staging': PodDisruptionBudget/shop-api "
        "(shop/templates/pdb.yaml): policy/v1beta1 PodDisruptionBudget is not served by "
        "Kubernetes 1.35 (removed in 1.25)\n  hint: render it as policy/v1" in checked.stderr
    )
    job = chart_job(repo)
    assert job.returncode == 1
    assert "render it as policy/v1 (Kubernetes' Deprecated API Migration Guide)" in job.stderr

    # A cluster that still serves it: the environment names its (old) Kubernetes version.
    (repo / "pipeline.yaml").write_text(SPEC + '    kubernetes_version: "1.24"\n')
    compiled(repo)
    assert chart_job(repo).returncode == 0


def test_validate_checks_objects_against_the_versions_openapi_schemas(tmp_path: Path) -> None:
    pytest.importorskip("kubernetes_validate")
    quoted = API.replace(
        "replicas: {{ .Values.api.replicas }}", "replicas: {{ .Values.api.replicas | quote }}"
    )
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/api.yaml": quoted}))
    checked = validate(repo)
    assert checked.returncode == 1
    assert (
        "pipeline.yaml:12:5: environment 'staging': Deployment/shop-api "
        "(shop/templates/api.yaml): spec.replicas: '2' is not of type 'integer', 'null' "
        "(Kubernetes 1.35's OpenAPI schema)" in checked.stderr
    )


# A container without its required `name`, and an API version Kubernetes never served: what the
# API server refuses, and only the OpenAPI schemas tell.
NAMELESS = API.replace("        - name: api\n          image:", "        - image:")
HPA = """\
apiVersion: autoscaling/v2beta3
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}-api
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ .Release.Name }}-api}
  maxReplicas: 4
"""
SCHEMA_ERRORS = (
    "Deployment/shop-api (shop/templates/api.yaml): spec.template.spec.containers.0: 'name' is "
    "a required property (Kubernetes 1.35's OpenAPI schema)",
    "HorizontalPodAutoscaler/shop-api (shop/templates/hpa.yaml): autoscaling/v2beta3 "
    "HorizontalPodAutoscaler is not served by Kubernetes 1.35",
)


def test_a_schema_violation_fails_the_chart_job_and_validate_with_one_message(
    tmp_path: Path,
) -> None:
    pytest.importorskip("kubernetes_validate")
    files = {"templates/api.yaml": NAMELESS, "templates/hpa.yaml": HPA}
    repo = compiled(write_repo(tmp_path / "repo", SPEC, files))
    job = chart_job(repo)
    assert job.returncode == 1
    assert [line for line in job.stderr.splitlines() if line.startswith("error: ")] == [
        f"error: {SCHEMA_ERRORS[0]}: fix the template that renders it",
        f"error: {SCHEMA_ERRORS[1]}: render an API version that Kubernetes serves "
        "(`kubectl api-resources`)",
        "error: the chart check refused what staging would deploy: see above",
    ]
    checked = validate(repo)
    assert checked.returncode == 1
    for message in SCHEMA_ERRORS:
        assert f"pipeline.yaml:12:5: environment 'staging': {message}\n" in checked.stderr


def without_kubernetes_validate(folder: Path) -> dict[str, str]:
    """PYTHONPATH that hides kubernetes-validate, as on a machine without it."""
    hidden = folder / "hidden" / "kubernetes_validate"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('not installed here')\n")
    return {"PYTHONPATH": str(hidden.parent)}


def test_without_kubernetes_validate_the_schemas_are_unchecked_and_the_chart_job_fails(
    tmp_path: Path,
) -> None:
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/api.yaml": NAMELESS}))
    hidden = without_kubernetes_validate(tmp_path)
    job = chart_job(repo, **hidden)
    assert job.returncode == 1
    assert (
        "error: kubernetes-validate is not installed, and --require-schemas asks for its check"
        in job.stderr
    )
    env = {**os.environ, **helm_env(tmp_path), **hidden}
    env["PATH"] = os.pathsep.join([str(HELM.parent), env["PATH"]])
    scripts = repo / "deploy" / "cdk" / "scripts"
    common = ["--pipeline=deploy/cdk/pipeline.json", f"--registry={REGISTRY}"]
    values = tmp_path / "images.values.json"
    placeholder = [f"--out={values}", "--placeholder", "--chart=deploy/shop"]
    run = functools.partial(subprocess.run, cwd=repo, env=env, capture_output=True, text=True)
    assert run([sys.executable, scripts / "image_values.py", *common, *placeholder]).returncode == 0
    check = ["--environment=staging", "--chart=deploy/shop", f"--values={values}"]
    checked = run([sys.executable, scripts / "chart_check.py", *common, *check])
    assert checked.returncode == 0, checked.stderr
    unchecked = (
        "the objects against Kubernetes 1.35's OpenAPI schemas: kubernetes-validate is not "
        "installed (pip install kubernetes-validate, or pipelinegen[kubernetes])"
    )
    assert f"warning: unchecked: {unchecked}\n" in checked.stderr
    said = run([sys.executable, "-m", "pipelinegen", "validate"])
    assert said.returncode == 0, said.stderr
    assert said.stderr.count(f"note: unchecked: {unchecked}") == 1


def test_validate_without_helm_says_so_once_and_renders_nothing(tmp_path: Path) -> None:
    repo = compiled(write_repo(tmp_path / "repo", SPEC, {"templates/pdb.yaml": PDB}))
    checked = validate(repo, helm=False)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.count("note: helm is not on PATH: the chart was not rendered") == 1


def test_the_helm_major_validate_wants_is_the_deploys() -> None:
    from pipelinegen.chart.render import HELM_MAJOR
    from pipelinegen.render.cdk.versions import HELM as PINNED

    assert PINNED["version"].split(".")[0] == HELM_MAJOR


@pytest.mark.parametrize(
    ("value", "is_image"),
    [
        ("docker.io/bitnami/kubectl:1.31.0", True),
        ("quay.io/jetstack/cert-manager-acmesolver:v1.16.2", True),
        ("registry.k8s.io/ingress-nginx/controller@sha256:" + "a" * 64, True),
        ("localhost:5000/tools/migrate:2024.1", True),
        ("ghcr.io/acme/api", False),  # no tag or digest: a repository, not a reference
        ("rabbitmq:3.13", False),  # no registry host: could be anything ("host:port")
        ("redis.shop.svc.cluster.local:6379", False),  # a host and a port, no path
        ("https://api.example.com/v1", False),
        ("/var/lib/data:ro", False),
    ],
)
def test_an_env_value_is_an_image_only_when_it_is_a_whole_reference(
    value: str, is_image: bool
) -> None:
    from pipelinegen.chart.render import shipped

    assert bool(shipped("chart_check").ENV_IMAGE.fullmatch(value)) is is_image


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("rabbitmq:3.13-management-alpine", "docker.io/library/rabbitmq"),
        ("bitnami/kubectl:1.31@sha256:" + "0" * 64, "docker.io/bitnami/kubectl"),
        ("docker.io/busybox", "docker.io/library/busybox"),
        ("localhost:5000/migrate:1", "localhost:5000/migrate"),
        ("ghcr.io/acme/api:v1", "ghcr.io/acme/api"),
    ],
)
def test_repositories_are_compared_as_the_runtime_reads_them(
    reference: str, repository: str
) -> None:
    from pipelinegen.chart.render import shipped

    assert shipped("chart_check").repository_of(reference) == repository


def test_the_deploy_runs_the_chart_check_before_helm_upgrade(tmp_path: Path) -> None:
    """deploy.sh in the extracted release: a chart the environment's cluster would refuse stops
    before `helm upgrade` (the stand-in's render of it never happens)."""
    import shutil

    from tests.chart.test_deploy import REPOS, deploy, release_of

    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    (repo / "deploy" / "umbrella" / "templates").mkdir(exist_ok=True)
    (repo / "deploy" / "umbrella" / "templates" / "pdb.yaml").write_text(PDB)
    root, spec = release_of(repo, tmp_path)
    result = deploy(root, spec, tmp_path)
    assert result.returncode == 1
    assert "PodDisruptionBudget/shop-api (umbrella/templates/pdb.yaml): policy/v1beta1" in (
        result.stderr
    )
    assert "the chart check refused the release for staging" in result.stderr
    assert not (tmp_path / "rendered.yaml").exists()  # no `helm upgrade` ran


def test_validate_says_when_the_charts_dependencies_are_not_built(tmp_path: Path) -> None:
    """An umbrella whose file:// subcharts were never packaged into charts/: validate cannot
    render it, says how to, and fails nothing for it (the CI job builds them first)."""
    import shutil

    from tests.chart.test_deploy import REPOS

    repo = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", repo)
    checked = validate(compiled(repo))
    assert checked.returncode == 0, checked.stderr
    assert (
        "note: the chart's dependencies are not built: run `helm dependency build "
        "deploy/umbrella` to render it here" in checked.stderr
    )


BINDINGS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: shop-editors}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: metrics}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:metrics-reader}
subjects: [{kind: ServiceAccount, name: api}]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: shop-critical}
value: 1000000
"""


@pytest.mark.parametrize(
    ("access", "refused"),
    [
        (
            {},
            [
                "RoleBinding/metrics: it binds ClusterRole 'system:metrics-reader'",
                "PriorityClass/shop-critical: PriorityClass is cluster-scoped",
            ],
        ),
        (
            {"cluster_kinds": ["PriorityClass"], "cluster_roles": ["system:metrics-reader"]},
            [],
        ),
        ({"cluster_admin": True}, []),
    ],
)
def test_bindings_and_cluster_kinds_follow_the_environments_access(
    access: dict[str, object], refused: list[str]
) -> None:
    """A RoleBinding to the built-in `edit` needs no grant; one to another ClusterRole needs it
    in `cluster_roles`; a PriorityClass needs its kind; `cluster_admin` lets everything through."""
    from pipelinegen.chart.render import shipped

    chart_check = shipped("chart_check")
    environment = chart_check.Environment.of(
        {"name": "staging", "namespace": "shop", "kubernetes_version": "1.35", "access": access}
    )
    report = chart_check.Report()
    images = chart_check.Images(registry="r.example.com", project="shop", mapped={}, third_party=[])
    chart_check.judge(
        BINDINGS,
        label="as install",
        environment=environment,
        images=images,
        report=report,
        helm=str(HELM),
    )
    errors = report.errors()
    assert len(errors) == len(refused), errors
    assert all(line.startswith(prefix) for line, prefix in zip(errors, refused, strict=True))
    assert report.objects == {"built-in (cluster-scoped)": 1, "rbac (namespaced)": 2}

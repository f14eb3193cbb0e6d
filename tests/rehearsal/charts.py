"""Synthetic repositories shaped like real ones, compiled by pipelinegen for the rehearsal: an
umbrella chart with an aliased subchart committed in charts/, a strict values schema, a
Deployment and a CronJob, a Role, a RoleBinding and a ServiceMonitor (deployed under the default
access), three environments across accounts, an approval and Marketplace.

The api image's archive keeps its layers uncompressed: its release workflow exports it with
buildx's `--output type=oci,dest=...,compression=uncompressed`, as a repository does that hands
uncompressed archives on (what `docker save` writes on Docker Engine 25+). A registry push that
may rewrite manifests compresses such layers and changes the digests, so only a push that keeps
them (`skopeo copy --preserve-digests`) carries the archive's digest to the registry.

Variants break one step each, the way a real repository would: a chart that reads its image
from a values path the deploy does not set (`image_path`: `bitnami`, a block holding the image's
upstream `bitnami/api`, which compile ties to the image and refuses; `unrelated`, a block holding
`bitnami/nginx`, which only a render of the chart shows), a dependency that lives outside the
chart folder, so packaging leaves it behind (`outside_dependency`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.oci import digest_of
from tests.rehearsal.rehearsal import ROOT

SPEC = """\
version: 1
name: {name}
github:
  repository: acme/{name}
aws:
  account: "111111111111"
  region: us-east-1
images:
  - name: api
    context: services/api
    platforms: [linux/amd64, linux/arm64]
    build_args: {{PYTHON_VERSION: "3.12"}}
    target: runtime
    values: [{{repository: images.api.repository, digest: images.api.digest}}]
  - name: jobs
    context: services/jobs
    values: [{{repository: images.jobs.repository, digest: images.jobs.digest}}]
third_party_images:
  - name: cache
    image: "{cache}"
    values: [{{reference: cache.image}}]
checks:
  - name: test
    run: "true"
helm:
  chart: deploy/umbrella
  release: {name}
environments:
  - name: dev
    cluster: {name}-dev
    namespace: apps
    values: [deploy/values-dev.yaml]
    api_versions: [monitoring.coreos.com/v1]
  - name: staging
    account: "222222222222"
    cluster: {name}-staging
    namespace: apps
    values: [deploy/values-staging.yaml]
    api_versions: [monitoring.coreos.com/v1]
  - name: prod
    account: "333333333333"
    region: us-west-2
    cluster: {name}-prod
    namespace: apps
    values: [deploy/values-prod.yaml]
    api_versions: [monitoring.coreos.com/v1]
    approval: true
    marketplace: true
marketplace:
  product_id: prod-rehearsal{suffix}
  seller_prefix: {name}
  compatible_services: [EKS]
  delivery_option_title: Helm on Amazon EKS
  usage_instructions: docs/usage.md
"""

CHART = """\
apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: common
    alias: shared
    version: 0.1.0
    repository: {repository}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-api
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: "{{ API_IMAGE }}"
        - name: cache
          image: {{ .Values.cache.image | quote }}
"""

CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ .Release.Name }}-jobs
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: migrate
              image: "{{ .Values.images.jobs.repository }}@{{ .Values.images.jobs.digest }}"
          containers:
            - name: jobs
              image: "{{ .Values.images.jobs.repository }}@{{ .Values.images.jobs.digest }}"
"""

# What most real charts ship beside their workloads: a Role and its RoleBinding for the pods'
# service account, and a ServiceMonitor for the Prometheus Operator the clusters run (their
# `api_versions`). The default access deploys them (docs/cluster-access.md).
RBAC_AND_MONITORING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}-api
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .Release.Name }}-api
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .Release.Name }}-api
subjects:
  - kind: ServiceAccount
    name: default
    namespace: {{ .Release.Namespace }}
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
"""

SCHEMA = """\
{
  "$schema": "https://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["replicas"],
  "properties": {"replicas": {"type": "integer", "minimum": 1}}
}
"""

SUBCHART_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-shared
data:
  greeting: {{ .Values.greeting | quote }}
"""

MAPPED = "{{ .Values.images.api.repository }}@{{ .Values.images.api.digest }}"
BITNAMI = "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
# A third-party image the chart runs (a sidecar), from a registry outside the release: the
# world serves it (World.seed_upstream), and the release copies it by digest.
CACHE = f"quay.io/rehearsal/cache:1@{digest_of('cache')}"
# The upstream image each `image_path` variant's `image` block holds.
UPSTREAM = {"bitnami": "bitnami/api", "unrelated": "bitnami/nginx"}


def umbrella(
    folder: Path,
    *,
    name: str = "umbrella",
    image_path: str = "mapped",
    outside_dependency: bool = False,
) -> Path:
    """Write the repository at `folder` and compile it with pipelinegen."""
    suffix = "".join(c for c in name if c.isalnum())[:8]
    files = {
        "pipeline.yaml": SPEC.format(name=name, suffix=suffix, cache=CACHE),
        "docs/usage.md": f"helm install {name} ...\n",
        "services/api/Dockerfile": "FROM scratch AS runtime\n",
        "services/jobs/Dockerfile": "FROM scratch\n",
        "deploy/umbrella/values.yaml": f"replicas: 1\ncache: {{image: '{CACHE}'}}\nimages:\n"
        + "".join(f"  {image}: {{repository: '', digest: ''}}\n" for image in ("api", "jobs"))
        + (
            f"image: {{registry: docker.io, repository: {UPSTREAM[image_path]}, tag: '1'}}\n"
            if image_path in UPSTREAM
            else ""
        ),
        "deploy/umbrella/values.schema.json": SCHEMA,
        "deploy/umbrella/templates/api.yaml": DEPLOYMENT.replace(
            "{{ API_IMAGE }}", MAPPED if image_path == "mapped" else BITNAMI
        ),
        "deploy/umbrella/templates/jobs.yaml": CRONJOB,
        "deploy/umbrella/templates/rbac.yaml": RBAC_AND_MONITORING,
        "deploy/values-dev.yaml": "replicas: 1\nshared: {greeting: dev}\n",
        "deploy/values-staging.yaml": "replicas: 2\nshared: {greeting: staging}\n",
        "deploy/values-prod.yaml": "replicas: 3\nshared: {greeting: prod}\n",
    }
    common = "deploy/common" if outside_dependency else "deploy/umbrella/charts/common"
    files[f"{common}/Chart.yaml"] = "apiVersion: v2\nname: common\nversion: 0.1.0\n"
    files[f"{common}/values.yaml"] = "greeting: hello\n"
    files[f"{common}/templates/configmap.yaml"] = SUBCHART_CONFIGMAP
    files["deploy/umbrella/Chart.yaml"] = CHART.format(
        repository="file://../common" if outside_dependency else '""'
    )
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pipelinegen"), "compile", "pipeline.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pipelinegen compile failed:\n{result.stdout}{result.stderr}")
    workflow = folder / ".github" / "workflows" / "pipelinegen-release.yml"
    api = "outputs: type=oci,dest=dist/images/api.oci.tar\n"
    if api not in workflow.read_text():
        raise RuntimeError(f"{workflow} does not export the api image as {api.strip()}")
    workflow.write_text(
        workflow.read_text().replace(api, api.replace("\n", ",compression=uncompressed\n"))
    )
    return folder

#!/usr/bin/env python3
"""The one chart check: render the chart as the cluster will get it, and judge every object.

It renders with the pinned `helm template`, as a first install and as an upgrade
(`--is-upgrade`), with the environment's Kubernetes version (`--kube-version`) and the API
versions its cluster serves beyond Kubernetes' own (`--api-versions`), and with `--include-crds`
(Helm installs a chart's crds/ on install). Every rendered object is then classified — built-in
(namespaced or cluster-scoped), RBAC (Role, RoleBinding, ClusterRole, ClusterRoleBinding), custom
resource (its CRD in the chart or not) — and every image a pod can name is accounted for:
containers, initContainers, ephemeralContainers, image volumes (`volumes[].image.reference`,
Kubernetes 1.31+), and env values that are a whole image reference (a registry host with a dot or
a port, a path, and a tag or a digest), in the pod templates of any kind (lists, a CronJob's
jobTemplate, a custom resource's pod template).

It refuses:
- a spec image that is not `<registry>/<project>/<image>[:<tag>]@sha256:<64 hex>` (with the
  release's digests: that digest), as the chart would run another image;
- any other image unless the spec declares it (`third_party_images`) and the chart pins it by
  that digest: at the release's copy `<registry>/<project>/<name>@<declared digest>` when the
  spec maps it (`values`; its public reference is then refused), else at its public reference
  (a warning: the cluster pulls it from outside the release); with `--only` (the AWS
  Marketplace chart) any image outside `<registry>/<project>`, an unmapped third-party image
  included;
- an object the environment's access cannot create (pipeline.json `environments[].access`): a
  cluster-scoped kind not in `cluster_kinds`, a ClusterRole or a binding's ClusterRole not in
  `cluster_roles`, an object in another namespace, a custom resource whose API version the cluster
  does not serve (not in `api_versions`, no CRD in the chart);
- an API version that the environment's Kubernetes version no longer serves, with its
  replacement (REMOVED_APIS, from Kubernetes' Deprecated API Migration Guide,
  https://kubernetes.io/docs/reference/using-api/deprecation-guide/, read 2026-12);
- an object of Kubernetes' own groups that the Kubernetes version's published OpenAPI schemas
  refuse (a wrong type, a missing required field), or whose API version it does not serve, when
  kubernetes-validate (PyPI) is installed; otherwise that check is `warning: unchecked: ...`,
  or an error with `--require-schemas` (the CI `chart` job installs it pinned by hash and asks).

`pipelinegen validate` imports this module, so the code is one. The CI `chart` job
(render-chart.sh), the release's deploy (deploy.sh) and the Marketplace packaging
(marketplace_chart.py) run it with Python 3.9+ and the pinned helm 4 on PATH:

    python3 chart_check.py --pipeline deploy/cdk/pipeline.json --environment staging \\
        --chart deploy/helm/platform --registry R -f values-staging.yaml -f images.values.json \\
        [--release .] [--require-schemas] [--keep DIR]

(the image values file as image_values.py writes it; `--release` pins each spec image to the
release's own digest, in the deploy; `--keep` writes the renders it judged, as Helm applies
them, to DIR/install.yaml and DIR/upgrade.yaml: the deploy's preflight reads them).

It prints one `error: ...` line per refused object or image (naming the object, the template it
came from, and the fix) and exits 1; otherwise a summary of what it rendered and classified, and
exits 0. Spec images no container runs are `warning: ...` lines (an environment may deploy only
some of them).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True

# The container lists of a pod spec (Kubernetes API reference, PodSpec).
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
# Helm's own YAML reader (fromYaml, sigs.k8s.io/yaml) turns each rendered document into one JSON
# line, with the document's position in the split output, so its `# Source:` stays known.
CONVERTER = """{{- $rendered := .Files.Get "rendered.yaml" }}
{{- range $index, $doc := regexSplit "(?m)^---[ \\t]*$" $rendered -1 }}
{{- $object := fromYaml $doc }}
{{- if $object }}
{{ dict "index" $index "object" $object | toJson }}
{{- end }}
{{- end }}
"""
SPLIT = re.compile(r"(?m)^---[ \t]*$")
SOURCE = re.compile(r"(?m)^# Source: (.+)$")
# A `# Source:` of the chart's (or a subchart's) crds/ folder, as `helm template --include-crds`
# names it: `shop/crds/widgets.yaml`, `shop/charts/operator/crds/widgets.yaml`.
CRDS_FOLDER = re.compile(r"[^/]+(?:/charts/[^/]+)*/crds/")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# A whole image reference in an env value: a registry host with a dot or a port (or localhost), a
# path, and a tag or a digest (distribution/reference's grammar, narrowed to what is unmistakable).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
ENV_IMAGE = re.compile(
    r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|[A-Za-z0-9-]+:[0-9]+|localhost)"
    rf"(?:/{_COMPONENT})+"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})"
)

# The package the schema check needs (kubernetes-validate bundles the OpenAPI schemas of
# Kubernetes 1.25 and later); the only import from outside the standard library, and optional.
SCHEMAS = "kubernetes-validate"

# Kubernetes' own API groups: an object of any other group is a custom resource.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)
# Kubernetes' cluster-scoped kinds (`kubectl api-resources --namespaced=false`, Kubernetes 1.35).
CLUSTER_KINDS = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IPAddress",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersion",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)
RBAC_KINDS = frozenset({"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"})
# The user-facing ClusterRoles Kubernetes ships; bound in the namespace by a RoleBinding they grant
# no more than the namespace's `admin` the deploy identity holds (Kubernetes RBAC, "User-facing
# roles").
NAMESPACE_ROLES = frozenset({"admin", "edit", "view"})

# (apiVersion, kind) -> (the Kubernetes version that stopped serving it, its replacement).
# Kubernetes' Deprecated API Migration Guide (see the module's docstring).
_WORKLOADS = ("DaemonSet", "Deployment", "ReplicaSet")
_FLOW = ("FlowSchema", "PriorityLevelConfiguration")
_REMOVALS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("1.16", "networking.k8s.io/v1", "extensions/v1beta1", ("NetworkPolicy",)),
    ("1.16", "apps/v1", "extensions/v1beta1", _WORKLOADS),
    ("1.16", "apps/v1", "apps/v1beta1", ("Deployment", "StatefulSet")),
    ("1.16", "apps/v1", "apps/v1beta2", (*_WORKLOADS, "StatefulSet")),
    (
        "1.22",
        "admissionregistration.k8s.io/v1",
        "admissionregistration.k8s.io/v1beta1",
        ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
    ),
    (
        "1.22",
        "apiextensions.k8s.io/v1",
        "apiextensions.k8s.io/v1beta1",
        ("CustomResourceDefinition",),
    ),
    ("1.22", "apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1beta1", ("APIService",)),
    ("1.22", "authentication.k8s.io/v1", "authentication.k8s.io/v1beta1", ("TokenReview",)),
    (
        "1.22",
        "authorization.k8s.io/v1",
        "authorization.k8s.io/v1beta1",
        ("SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview"),
    ),
    (
        "1.22",
        "certificates.k8s.io/v1",
        "certificates.k8s.io/v1beta1",
        ("CertificateSigningRequest",),
    ),
    ("1.22", "coordination.k8s.io/v1", "coordination.k8s.io/v1beta1", ("Lease",)),
    ("1.22", "networking.k8s.io/v1", "extensions/v1beta1", ("Ingress",)),
    ("1.22", "networking.k8s.io/v1", "networking.k8s.io/v1beta1", ("Ingress", "IngressClass")),
    (
        "1.22",
        "rbac.authorization.k8s.io/v1",
        "rbac.authorization.k8s.io/v1beta1",
        tuple(sorted(RBAC_KINDS)),
    ),
    ("1.22", "scheduling.k8s.io/v1", "scheduling.k8s.io/v1beta1", ("PriorityClass",)),
    (
        "1.22",
        "storage.k8s.io/v1",
        "storage.k8s.io/v1beta1",
        ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"),
    ),
    ("1.25", "batch/v1", "batch/v1beta1", ("CronJob",)),
    ("1.25", "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1", ("EndpointSlice",)),
    ("1.25", "events.k8s.io/v1", "events.k8s.io/v1beta1", ("Event",)),
    ("1.25", "autoscaling/v2", "autoscaling/v2beta1", ("HorizontalPodAutoscaler",)),
    ("1.25", "policy/v1", "policy/v1beta1", ("PodDisruptionBudget",)),
    (
        "1.25",
        "Pod Security Admission (no API replaces it)",
        "policy/v1beta1",
        ("PodSecurityPolicy",),
    ),
    ("1.25", "node.k8s.io/v1", "node.k8s.io/v1beta1", ("RuntimeClass",)),
    ("1.26", "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta1", _FLOW),
    ("1.26", "autoscaling/v2", "autoscaling/v2beta2", ("HorizontalPodAutoscaler",)),
    ("1.27", "storage.k8s.io/v1", "storage.k8s.io/v1beta1", ("CSIStorageCapacity",)),
    ("1.29", "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta2", _FLOW),
    ("1.32", "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta3", _FLOW),
)
REMOVED_APIS: dict[tuple[str, str], tuple[str, str]] = {
    (old, kind): (removed_in, new) for removed_in, new, old, kinds in _REMOVALS for kind in kinds
}


class CheckError(Exception):
    """The chart cannot be rendered or read; the message says why."""


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else an empty one: rendered objects are untrusted shapes."""
    return value if isinstance(value, dict) else {}


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Render:
    """One `helm template` of the chart: its name in messages, and its extra arguments."""

    label: str
    upgrade: bool = False
    sets: tuple[str, ...] = ()


def helm_template(
    chart: str,
    *,
    release: str,
    namespace: str,
    values: Sequence[str],
    kubernetes_version: str,
    api_versions: Sequence[str],
    render: Render,
    helm: str = "helm",
) -> str:
    """The manifests `helm template` renders (its stdout), or CheckError with helm's words."""
    arguments = [
        helm,
        "template",
        release,
        chart,
        "--namespace",
        namespace,
        "--kube-version",
        f"v{kubernetes_version}.0",
        "--include-crds",
    ]
    for version in api_versions:
        arguments += ["--api-versions", version]
    if render.upgrade:
        arguments.append("--is-upgrade")
    for file in values:
        arguments += ["-f", file]
    for assignment in render.sets:
        arguments += ["--set", assignment]
    result = subprocess.run(arguments, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CheckError(f"helm template failed {render.label}: {result.stderr.strip()}")
    return result.stdout


def objects(rendered: str) -> list[dict[str, Any]]:
    """The rendered documents alone (documents() without their template sources)."""
    return [found for _, found in documents(rendered)]


def documents(rendered: str, helm: str = "helm") -> list[tuple[str, dict[str, Any]]]:
    """(template source, object) of each rendered document, read by helm's own YAML reader
    (fromYaml); the source is Helm's `# Source:` comment ("" when there is none)."""
    with tempfile.TemporaryDirectory() as folder:
        chart = Path(folder)
        (chart / "templates").mkdir()
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: manifests\nversion: 0.0.0\n")
        (chart / "templates" / "json.yaml").write_text(CONVERTER)
        (chart / "rendered.yaml").write_text(rendered)
        result = subprocess.run(
            [helm, "template", "manifests", str(chart)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise CheckError(f"helm could not read the manifests: {result.stderr.strip()}")
    chunks = SPLIT.split(rendered)
    found: list[tuple[str, dict[str, Any]]] = []
    for line in result.stdout.splitlines():
        if not line.startswith("{"):
            continue
        wrapped = json.loads(line)
        index, document = wrapped["index"], wrapped["object"]
        if set(document) == {"Error"}:
            raise CheckError(f"a rendered manifest is not YAML: {document['Error']}")
        chunk = chunks[index] if 0 <= index < len(chunks) else ""
        found.append((_source(chunk), document))
    return found


# --- objects -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Object:
    """A rendered object, classified: `category` is `built-in`, `rbac` or `custom resource`;
    `crd_in_chart` tells, for a custom resource, whether the chart carries its CRD."""

    source: str
    document: dict[str, Any] = field(compare=False, hash=False)
    api_version: str
    kind: str
    name: str
    namespace: str
    category: str
    cluster_scoped: bool
    crd_in_chart: bool = False

    @property
    def subject(self) -> str:
        where = f" ({self.source})" if self.source else ""
        return f"{self.kind}/{self.name}{where}"

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


def flatten(documents: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Every object, each `items` list (`kind: List`, `*List`) expanded at any depth, as Helm
    flattens lists when it installs (helm/helm pkg/kube/client.go); a list is kept too, so nothing
    it holds outside `items` goes unchecked."""
    found: list[tuple[str, dict[str, Any]]] = []
    pending = list(documents)
    while pending:
        source, document = pending.pop(0)
        found.append((source, document))
        items = document.get("items")
        if isinstance(items, list):
            pending.extend((source, item) for item in items if isinstance(item, dict))
    return found


def crds(found: list[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], str]:
    """(group, kind) -> scope (`Namespaced` or `Cluster`) of every CRD the chart renders."""
    scopes: dict[tuple[str, str], str] = {}
    for _, document in found:
        if document.get("kind") != "CustomResourceDefinition":
            continue
        spec = mapping(document.get("spec"))
        names = mapping(spec.get("names"))
        scopes[(str(spec.get("group", "")), str(names.get("kind", "")))] = str(
            spec.get("scope", "Namespaced")
        )
    return scopes


def classify(found: list[tuple[str, dict[str, Any]]]) -> list[Object]:
    """Each object with its category and scope; lists themselves are left out."""
    carried = crds(found)
    classified: list[Object] = []
    for source, document in found:
        kind = str(document.get("kind", ""))
        if isinstance(document.get("items"), list) and (kind == "List" or kind.endswith("List")):
            continue
        metadata = mapping(document.get("metadata"))
        api_version = str(document.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        in_chart = (group, kind) in carried
        if group not in BUILTIN_GROUPS:
            category = "custom resource"
            cluster_scoped = carried.get((group, kind)) == "Cluster"
        else:
            category = "rbac" if kind in RBAC_KINDS else "built-in"
            cluster_scoped = kind in CLUSTER_KINDS
        classified.append(
            Object(
                source=source,
                document=document,
                api_version=api_version,
                kind=kind,
                name=str(metadata.get("name", "")),
                namespace=str(metadata.get("namespace", "") or ""),
                category=category,
                cluster_scoped=cluster_scoped,
                crd_in_chart=in_chart,
            )
        )
    return classified


# --- images ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageUse:
    """One place a pod names an image: `where` in words, and the reference."""

    where: str
    reference: str


def pod_specs(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every pod spec anywhere in the object: a mapping at any depth that holds a `containers`,
    `initContainers` or `ephemeralContainers` list, whatever the kind (Pod, a workload's
    template, a CronJob's jobTemplate, a custom resource's pod template). `items` of a list are
    objects of their own (flatten())."""
    pending: list[Any] = [value for key, value in document.items() if key != "items"]
    while pending:
        node = pending.pop(0)
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if any(isinstance(node.get(name), list) for name in CONTAINER_FIELDS):
            yield node
        pending.extend(
            value
            for key, value in node.items()
            if key not in CONTAINER_FIELDS or not isinstance(value, list)
        )


def images_of(document: dict[str, Any]) -> list[ImageUse]:
    """Every image the object's pods name: containers, initContainers, ephemeralContainers,
    image volumes, and env values that are a whole image reference (ENV_IMAGE)."""
    found: list[ImageUse] = []
    for pod in pod_specs(document):
        for name in CONTAINER_FIELDS:
            listed = pod.get(name)
            for container in listed if isinstance(listed, list) else []:
                if not isinstance(container, dict):
                    continue
                label = f"{name} '{container.get('name')}'"
                found.append(ImageUse(label, str(container.get("image", ""))))
                env = container.get("env")
                for variable in env if isinstance(env, list) else []:
                    value = variable.get("value") if isinstance(variable, dict) else None
                    if isinstance(value, str) and ENV_IMAGE.fullmatch(value.strip()):
                        found.append(ImageUse(f"{label} env {variable.get('name')}", value.strip()))
        volumes = pod.get("volumes")
        for volume in volumes if isinstance(volumes, list) else []:
            image = volume.get("image") if isinstance(volume, dict) else None
            if isinstance(image, dict) and "reference" in image:
                found.append(
                    ImageUse(f"image volume '{volume.get('name')}'", str(image["reference"]))
                )
    return found


def image_name(reference: str) -> str:
    """The last path segment of a reference's repository: `api` of `r.io/x/api:1@sha256:…`."""
    return reference.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def repository_of(reference: str) -> str:
    """The reference's repository, normalized as the container runtime does (Docker Hub's
    `docker.io` and `library/` spelled out): `rabbitmq:3` -> `docker.io/library/rabbitmq`."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: name.rindex(":")]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}"
    host, _, path = name.partition("/")
    if host == "docker.io" and "/" not in path:
        name = f"docker.io/library/{path}"
    return name


def digest_of(reference: str) -> str:
    """The `sha256:…` a reference pins, or ""."""
    found = DIGEST.search(reference)
    return found.group(0)[1:] if found else ""


def mapped_paths(targets: list[dict[str, str]]) -> str:
    """The values paths an image is mapped to (pipeline.json `helm.images`), siblings grouped:
    `api.image.{repository,tag}`."""
    groups: dict[str, list[str]] = {}
    for target in targets:
        if str(target.get("path", "")).startswith("global.pipelinegen."):
            continue
        parent, _, leaf = str(target.get("path", "")).rpartition(".")
        groups.setdefault(parent, []).append(leaf)
    spelled = [
        f"{parent}.{{{','.join(leaves)}}}"
        if len(leaves) > 1
        else f"{parent}.{leaves[0]}".lstrip(".")
        for parent, leaves in groups.items()
    ]
    return ", ".join(spelled) if spelled else "no values path"


# --- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One refusal. `key` is the spec key the fix is about (`images`, `third_party_images`,
    `access`, `api_versions`, `kubernetes_version`, `namespace`, `chart`); `image` the spec
    image or the third-party reference when the finding is an image's."""

    key: str
    subject: str
    message: str
    fix: str
    image: str = ""

    def text(self) -> str:
        return f"{self.subject}: {self.message}: {self.fix}"


@dataclass
class Environment:
    """What one environment's cluster serves and lets the deploy identity create (pipeline.json
    `environments[]`, resolved by compile)."""

    name: str
    namespace: str
    kubernetes_version: str
    api_versions: list[str]
    cluster_kinds: list[str]
    cluster_roles: list[str]
    cluster_admin: bool

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Environment:
        access = mapping(entry.get("access"))
        return cls(
            name=str(entry["name"]),
            namespace=str(entry["namespace"]),
            kubernetes_version=str(entry["kubernetes_version"]),
            api_versions=[str(item) for item in entry.get("api_versions") or []],
            cluster_kinds=[str(item) for item in access.get("cluster_kinds") or []],
            cluster_roles=[str(item) for item in access.get("cluster_roles") or []],
            cluster_admin=bool(access.get("cluster_admin", False)),
        )


def minor(version: str) -> int:
    """The minor number of a `1.NN` Kubernetes version."""
    return int(version.split(".")[1])


def api_findings(objects: list[Object], environment: Environment) -> Iterator[Finding]:
    """Objects whose API version the environment's Kubernetes version no longer serves."""
    for item in objects:
        removed = REMOVED_APIS.get((item.api_version, item.kind))
        if removed and minor(environment.kubernetes_version) >= minor(removed[0]):
            yield Finding(
                "kubernetes_version",
                item.subject,
                f"{item.api_version} {item.kind} is not served by Kubernetes "
                f"{environment.kubernetes_version} (removed in {removed[0]})",
                f"render it as {removed[1]} (Kubernetes' Deprecated API Migration Guide)",
            )


def schema_validator() -> Any | None:
    """kubernetes-validate (PyPI; the CI `chart` job installs it pinned by hash), or None when it
    is not installed: imported only here, so the rest of the check stays standard library."""
    try:
        import kubernetes_validate
    except ImportError:
        return None
    return kubernetes_validate


def schema_findings(
    objects: list[Object], environment: Environment, report: Report
) -> Iterator[Finding]:
    """Objects of Kubernetes' own groups that the environment's Kubernetes version's published
    OpenAPI schemas refuse (kubernetes-validate, not strict: the API server drops unknown fields,
    it refuses wrong types and missing required ones), and API versions it does not serve. Custom
    resources are left to their CRDs' schemas, and removed APIs to api_findings. Without
    kubernetes-validate, or without schemas for the version, the report says they are
    unchecked."""
    version = environment.kubernetes_version
    validator = schema_validator()
    if validator is None:
        report.note_unchecked(
            f"the objects against Kubernetes {version}'s OpenAPI schemas: {SCHEMAS} is not "
            f"installed (pip install {SCHEMAS}, or pipelinegen[kubernetes])"
        )
        return
    from kubernetes_validate import utils

    for item in objects:
        removed = REMOVED_APIS.get((item.api_version, item.kind))
        if item.category == "custom resource" or (removed and minor(version) >= minor(removed[0])):
            continue
        try:
            validator.validate(json.loads(json.dumps(item.document)), version, strict=False)
        except utils.SchemaNotFoundError:
            yield Finding(
                "kubernetes_version",
                item.subject,
                f"{item.api_version} {item.kind} is not served by Kubernetes {version}",
                "render an API version that Kubernetes serves (`kubectl api-resources`)",
            )
        except utils.ValidationError as error:
            where = ".".join(str(part) for part in error.path) or "the object"
            yield Finding(
                "kubernetes_version",
                item.subject,
                f"{where}: {error.message} (Kubernetes {version}'s OpenAPI schema)",
                "fix the template that renders it",
            )
        except (utils.VersionNotSupportedError, utils.InvalidSchemaError, IndexError):
            report.note_unchecked(
                f"the objects against Kubernetes {version}'s OpenAPI schemas: {SCHEMAS} has "
                "none for that version"
            )
            return


def access_findings(objects: list[Object], environment: Environment) -> Iterator[Finding]:
    """Objects the environment's deploy identity may not create (see the module's docstring)."""
    if environment.cluster_admin:
        return
    access = f"environments[{environment.name}].access"
    for item in objects:
        if item.cluster_scoped and item.kind not in environment.cluster_kinds:
            yield Finding(
                "access",
                item.subject,
                f"{item.kind} is cluster-scoped, and environment '{environment.name}' may "
                "create objects in its namespace only",
                f"grant the kind: add {item.kind} to {access}.cluster_kinds",
            )
        elif not item.cluster_scoped and item.namespace not in ("", environment.namespace):
            yield Finding(
                "namespace",
                item.subject,
                f"it is in namespace '{item.namespace}', and environment "
                f"'{environment.name}' deploys to '{environment.namespace}' only",
                "render it without metadata.namespace (Helm puts it in the release's namespace)",
            )
        if item.kind == "ClusterRole" and item.name not in environment.cluster_roles:
            yield Finding(
                "access",
                item.subject,
                f"the chart creates ClusterRole '{item.name}', which the deploy identity may not "
                "grant",
                f"add '{item.name}' to {access}.cluster_roles",
            )
        if item.kind in ("ClusterRoleBinding", "RoleBinding"):
            ref = mapping(item.document.get("roleRef"))
            role = str(ref.get("name", ""))
            builtin = item.kind == "RoleBinding" and role in NAMESPACE_ROLES
            bound = ref.get("kind") == "ClusterRole" and not builtin
            if bound and role not in environment.cluster_roles:
                yield Finding(
                    "access",
                    item.subject,
                    f"it binds ClusterRole '{role}', which the deploy identity may not bind",
                    f"add '{role}' to {access}.cluster_roles",
                )
        if item.category == "custom resource" and not item.cluster_scoped:
            served = item.api_version in environment.api_versions
            if not served and not item.crd_in_chart:
                yield Finding(
                    "api_versions",
                    item.subject,
                    f"{item.api_version} {item.kind} is a custom resource whose CRD the chart "
                    f"does not carry, and environment '{environment.name}' does not say its "
                    "cluster serves it",
                    f"add {item.api_version} to environments[{environment.name}].api_versions "
                    "(its CRD installed in the cluster), or ship the CRD in the chart",
                )


@dataclass
class Images:
    """The images every render must account for: the spec's (pipeline.json `helm.images`), pushed
    to `<registry>/<project>/<image>`, and the declared third-party ones (`third_party_images`:
    `name`, `image`, `digest`, and the `values` paths of those the spec maps), which the release
    copies by digest to `<registry>/<project>/<name>`."""

    registry: str
    project: str
    mapped: dict[str, list[dict[str, str]]]
    third_party: list[dict[str, Any]]
    digests: dict[str, str] | None = None
    only: bool = False


def image_findings(
    objects: list[Object],
    images: Images,
    seen: set[str],
    pinned: set[str],
    pulled: set[str] | None = None,
) -> Iterator[Finding]:
    """Images no spec image or declaration accounts for; adds to `seen` the spec images run, to
    `pinned` the references of those pinned as they must be, to `pulled` the declared
    third-party images the spec does not map, run from their public reference."""
    for item in objects:
        for use in images_of(item.document):
            reference = use.reference
            name = image_name(reference)
            subject = f"{item.subject} {use.where}"
            if name in images.mapped:
                seen.add(name)
                pushed = f"{images.registry}/{images.project}/{name}"
                pattern = rf"{re.escape(pushed)}(:[^@/]+)?@sha256:[0-9a-f]{{64}}"
                if re.fullmatch(pattern, reference):
                    released = (images.digests or {}).get(name)
                    if images.digests is None or reference.endswith(f"@{released}"):
                        pinned.add(reference)
                        continue
                    yield Finding(
                        "images",
                        subject,
                        f"runs '{reference}', not the released {pushed}@{released}",
                        f"map image '{name}' to the values path(s) the chart reads it from "
                        f"(`values:` of image '{name}' in the spec)",
                        image=name,
                    )
                    continue
                yield Finding(
                    "images",
                    subject,
                    f"runs '{reference}', not {pushed}@sha256:…: the spec maps image '{name}' "
                    f"to {mapped_paths(images.mapped[name])}, and this image is not made from them",
                    f"map image '{name}' to the values path(s) the chart reads it from "
                    f"(`values:` of image '{name}' in the spec)",
                    image=name,
                )
                continue
            yield from third_party_findings(reference, subject, images, pulled)


def third_party_findings(
    reference: str, subject: str, images: Images, pulled: set[str] | None
) -> Iterator[Finding]:
    """An image that is no spec image's: the release's copy of a declared third-party image at
    its declared digest, or its public reference when the spec does not map it (outside the
    AWS Marketplace chart), or a refusal naming what to declare or map."""
    declared = {
        (repository_of(str(entry["image"])), digest_of(str(entry["image"]))): entry
        for entry in images.third_party
    }
    copies = {f"{images.registry}/{images.project}/{e['name']}": e for e in images.third_party}
    copy = copies.get(repository_of(reference))
    if copy is not None:
        name = str(copy["name"])
        if digest_of(reference) == digest_of(str(copy["image"])):
            return
        yield Finding(
            "third_party_images",
            subject,
            f"runs '{reference}', not the release's copy of third-party image '{name}', "
            f"{images.registry}/{images.project}/{name}@{digest_of(str(copy['image']))}",
            f"map third-party image '{name}' to the values path(s) the chart reads it from "
            f"(`values:` of third-party image '{name}' in the spec)",
            image=name,
        )
        return
    entry = declared.get((repository_of(reference), digest_of(reference)))
    if entry is not None:
        name = str(entry["name"])
        if entry.get("values"):
            yield Finding(
                "third_party_images",
                subject,
                f"runs '{reference}', the public reference of third-party image '{name}': "
                f"the spec maps it to {mapped_paths(entry['values'])}, and this image is not "
                "made from them",
                f"map third-party image '{name}' to the values path(s) the chart reads it from "
                f"(`values:` of third-party image '{name}' in the spec)",
                image=name,
            )
        elif images.only:
            yield Finding(
                "third_party_images",
                subject,
                f"runs '{reference}', which is not in the seller's Marketplace repositories "
                f"{images.registry}/{images.project}",
                "AWS Marketplace accepts only images from the seller's repositories: map it "
                f"with `values:` (of third-party image '{name}' in the spec), so that the "
                "chart runs the release's copy there",
                image=name,
            )
        elif pulled is not None:
            pulled.add(name)
        return
    if images.only:
        yield Finding(
            "third_party_images",
            subject,
            f"runs '{reference}', which is not in the seller's Marketplace repositories "
            f"{images.registry}/{images.project}",
            "AWS Marketplace accepts only images from the seller's repositories: map the value "
            "the chart reads it from in the spec",
            image=reference,
        )
        return
    repository = repository_of(reference)
    same = [entry for (found, _), entry in declared.items() if found == repository]
    if not digest_of(reference):
        problem = "is not pinned by digest"
    elif same:
        problem = "is pinned by another digest than the spec declares"
    else:
        problem = "is neither a spec image nor a declared third-party image"
    fix = (
        f"declare it in `third_party_images` (name: {image_name(reference) or 'NAME'}, "
        f"image: {reference.split('@', 1)[0]}@sha256:<digest>) and map it with `values:` "
        "(the values paths the chart reads it from), so the chart runs the release's copy"
    )
    if same:
        name = str(same[0]["name"])
        fix = (
            f"third-party image '{name}' is declared: map it with `values:` (the values paths "
            "the chart reads it from), so the chart runs the release's copy at the declared "
            "digest"
        )
    yield Finding(
        "third_party_images", subject, f"runs '{reference}', which {problem}", fix, image=reference
    )


@dataclass
class Report:
    """What a check found: refusals with the renders that showed each, warnings, what rendered."""

    findings: dict[Finding, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    renders: list[str] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)
    pinned: int = 0
    seen: dict[tuple[str, str, str, str], Object] = field(default_factory=dict)

    def note_unchecked(self, what: str) -> None:
        if what not in self.unchecked:
            self.unchecked.append(what)

    def add(self, finding: Finding, label: str) -> None:
        labels = self.findings.setdefault(finding, [])
        if label not in labels:
            labels.append(label)

    def errors(self) -> list[str]:
        """Each refusal once, saying which renders showed it when not all did."""
        lines = []
        for finding, labels in self.findings.items():
            which = "" if len(labels) == len(self.renders) else f" [{', '.join(labels)}]"
            lines.append(finding.text() + which)
        return lines


def judge(
    rendered: str,
    *,
    label: str,
    environment: Environment | None,
    images: Images,
    report: Report,
    helm: str = "helm",
) -> list[Object]:
    """Read, classify and check one render, adding to `report`; returns its objects."""
    objects = classify(flatten(documents(rendered, helm)))
    report.renders.append(label)
    seen: set[str] = set()
    pinned: set[str] = set()
    pulled: set[str] = set()
    found = list(image_findings(objects, images, seen, pinned, pulled))
    if environment is not None:
        found += [
            *access_findings(objects, environment),
            *api_findings(objects, environment),
            *schema_findings(objects, environment, report),
        ]
    for finding in found:
        report.add(finding, label)
    counts: dict[str, int] = {}
    for item in objects:
        report.seen.setdefault((item.api_version, item.kind, item.namespace, item.name), item)
        kind = "cluster-scoped" if item.cluster_scoped else "namespaced"
        if item.category == "custom resource":
            kind += ", CRD in the chart" if item.crd_in_chart else ", CRD not in the chart"
        what = f"{item.category} ({kind})"
        counts[what] = counts.get(what, 0) + 1
    for what, count in counts.items():
        report.objects[what] = max(report.objects.get(what, 0), count)
    report.pinned = max(
        report.pinned,
        sum(1 for item in objects for use in images_of(item.document) if use.reference in pinned),
    )
    for name in images.mapped:
        if name not in seen:
            warning = (
                f"image '{name}' is run by no rendered pod {label}: the spec maps it to "
                f"{mapped_paths(images.mapped[name])}"
            )
            if warning not in report.warnings:
                report.warnings.append(warning)
    run = {repository_of(use.reference) for item in objects for use in images_of(item.document)}
    for entry in images.third_party:
        copy = f"{images.registry}/{images.project}/{entry['name']}"
        if not run & {copy, repository_of(str(entry["image"]))}:
            warning = (
                f"third-party image '{entry['name']}' is run by no rendered pod {label}: the "
                "release copies it all the same (leave it out of `third_party_images` if no "
                "environment runs it)"
            )
            if warning not in report.warnings:
                report.warnings.append(warning)
        if entry["name"] in pulled:
            warning = (
                f"third-party image '{entry['name']}' is pulled from {entry['image']}: the "
                "spec does not map it, so the cluster fetches it from outside the release: add "
                f"`values:` to third-party image '{entry['name']}' (the values paths the chart "
                f"reads it from), so that the chart runs the release's copy in "
                f"{images.registry}/{images.project}/{entry['name']}"
            )
            if warning not in report.warnings:
                report.warnings.append(warning)
    return objects


def check_environment(
    pipeline: dict[str, Any],
    environment_name: str,
    *,
    chart: str,
    values: Sequence[str],
    images: Images,
    helm: str = "helm",
    require_schemas: bool = False,
    keep: Path | None = None,
) -> Report:
    """Render the chart for one environment as install and as upgrade, and judge each render.
    `require_schemas` makes a missing kubernetes-validate an error rather than unchecked; `keep`
    is a folder to write each render into as Helm applies it (kept_render())."""
    entries = [e for e in pipeline.get("environments") or [] if e.get("name") == environment_name]
    if not entries:
        raise CheckError(f"pipeline.json has no environment '{environment_name}': compile again")
    environment = Environment.of(entries[0])
    release = (pipeline.get("helm") or {}).get("release")
    if not isinstance(release, str):
        raise CheckError("pipeline.json has no helm.release: compile again")
    if require_schemas and schema_validator() is None:
        raise CheckError(f"{SCHEMAS} is not installed, and --require-schemas asks for its check")
    report = Report()
    for render in (Render("as install"), Render("as upgrade", upgrade=True)):
        rendered = helm_template(
            chart,
            release=release,
            namespace=environment.namespace,
            values=values,
            kubernetes_version=environment.kubernetes_version,
            api_versions=environment.api_versions,
            render=render,
            helm=helm,
        )
        judge(
            rendered,
            label=render.label,
            environment=environment,
            images=images,
            report=report,
            helm=helm,
        )
        if keep is not None:
            kept = keep / ("upgrade.yaml" if render.upgrade else "install.yaml")
            kept.write_text(kept_render(rendered, upgrade=render.upgrade), encoding="utf-8")
    return report


def kept_render(rendered: str, *, upgrade: bool) -> str:
    """The render as Helm applies it: an upgrade leaves the chart's crds/ out (Helm installs them
    on install only: Helm docs, "Custom Resource Definitions"), an install keeps them. The deploy's
    preflight asks the cluster about exactly these objects, so it renders nothing itself."""
    if not upgrade:
        return rendered
    chunks = SPLIT.split(rendered)
    kept = [chunk for chunk in chunks if not CRDS_FOLDER.match(_source(chunk))]
    return "---".join(kept)


def _source(chunk: str) -> str:
    found = SOURCE.search(chunk)
    return found.group(1).strip() if found else ""


def images_from(pipeline: dict[str, Any], *, registry: str, project: str | None = None) -> Images:
    """The spec's and the declared third-party images of pipeline.json."""
    return Images(
        registry=registry,
        project=project or str(pipeline["project"]),
        mapped=dict(sorted(pipeline["helm"]["images"].items())),
        third_party=[
            {
                "name": str(entry["name"]),
                "image": str(entry["image"]),
                "values": list(entry.get("values") or []),
            }
            for entry in pipeline.get("third_party_images") or []
        ],
    )


def released_digests(root: Path) -> dict[str, str]:
    """image -> digest of the extracted release at `root` (release.py, beside this script), or
    CheckError saying why the release cannot tell."""
    import release  # only the deploy has a release to read

    try:
        manifest = release.load(root)
        return {image.name: image.digest for image in release.images(manifest)}
    except release.ReleaseError as error:
        raise CheckError(str(error)) from None


def print_report(report: Report, what: str) -> int:
    """Print the report's lines; the exit status."""
    for line in report.errors():
        print(f"error: {line}", file=sys.stderr)
    for line in report.unchecked:
        print(f"warning: unchecked: {line}", file=sys.stderr)
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if report.findings:
        return 1
    kinds = ", ".join(f"{count} {what}" for what, count in sorted(report.objects.items()))
    print(
        f"{what}: rendered {', '.join(report.renders)}; objects: {kinds or 'none'}; "
        f"{report.pinned} image use(s) of the spec's images, all pinned by digest"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pipeline", type=Path, required=True, help="the CDK app's pipeline.json")
    parser.add_argument("--environment", required=True, help="the environment to render for")
    parser.add_argument("--chart", required=True, help="the chart folder")
    parser.add_argument("--registry", required=True, help="the registry the images are pushed to")
    parser.add_argument(
        "-f", "--values", action="append", default=[], help="a values file, in order"
    )
    parser.add_argument(
        "--prefix", help="the repositories' namespace (default: pipeline.json's project)"
    )
    parser.add_argument(
        "--release",
        type=Path,
        help="the extracted release: each spec image must be pinned by its digest there "
        "(default, in CI: any digest)",
    )
    parser.add_argument(
        "--require-schemas",
        action="store_true",
        help=f"fail when {SCHEMAS} is not installed (default: its check is reported unchecked)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="a folder to write the renders into as Helm applies them (install.yaml, "
        "upgrade.yaml), for the deploy's preflight",
    )
    args = parser.parse_args(argv)
    try:
        pipeline = json.loads(args.pipeline.read_text(encoding="utf-8"))
        images = images_from(pipeline, registry=args.registry, project=args.prefix)
        if args.release:
            images.digests = released_digests(args.release)
        report = check_environment(
            pipeline,
            args.environment,
            chart=args.chart,
            values=args.values,
            images=images,
            require_schemas=args.require_schemas,
            keep=args.keep,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, CheckError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return print_report(report, f"{args.chart} for {args.environment}")


if __name__ == "__main__":
    sys.exit(main())

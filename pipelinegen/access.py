"""What an environment's deploy identity may do in its cluster, as Kubernetes RBAC.

The deploy role reaches the cluster through an EKS access entry. Its permissions come from
Kubernetes RBAC, not from an EKS access policy: the access entry names one Kubernetes group
(`kubernetesGroups`), and the objects below bind that group. Why not an access policy:

- "If you associate any access policies, the principalARN has all permissions assigned in the
  associated access policies and all permissions in any Kubernetes Role or ClusterRole objects
  that the group names are bound to" (EKS API reference, CreateAccessEntry `kubernetesGroups`;
  EKS User Guide, "Create an access entry using Kubernetes groups with the AWS CLI").
- But Kubernetes' RBAC escalation check, which runs when a Role, ClusterRole, RoleBinding or
  ClusterRoleBinding is created, sees only RBAC: a principal whose rights come from
  `AmazonEKSAdminPolicy` cannot create a Role or RoleBinding that grants those rights
  (aws/containers-roadmap#2682), and namespace-scoped access policies do not reach custom
  resources or cluster-scoped kinds (aws/containers-roadmap#2349). Charts create Roles and
  RoleBindings routinely.
- Kubernetes "Using RBAC Authorization" ("Privilege escalation prevention and bootstrapping"):
  creating a Role or ClusterRole needs every permission it grants, or the `escalate` verb on
  `roles`/`clusterroles`; creating a binding needs the referenced role's permissions, or the
  `bind` verb on it; both verbs may be limited by `resourceNames`.

So, per environment (`environments[].access`):

- always: the namespace; a RoleBinding of the group to the built-in `admin` ClusterRole in the
  namespace (every namespaced built-in kind, Roles and RoleBindings included); a Role granting
  the custom resources of `api_versions`' groups, `escalate`/`bind` on Roles in the namespace and
  `bind` on the ClusterRoles the namespace's RoleBindings may reference (`admin`, `edit`, `view`
  and `cluster_roles`), bound to the group;
- with `cluster_kinds`: a ClusterRole limited to exactly those kinds, plus `escalate`/`bind` on
  ClusterRoles limited by `resourceNames` to `cluster_roles`, and its ClusterRoleBinding;
- with `cluster_admin`: a ClusterRoleBinding to `cluster-admin`.

`compile` writes them as one file per environment (`manifests`), which an administrator applies
once (docs/cluster-access.md), before the access entry names the group.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from pipelinegen.spec.models import Environment, Spec

RBAC = "rbac.authorization.k8s.io"
RBAC_VERSION = f"{RBAC}/v1"
# What Helm does to the objects of a release: read, create, update (server-side apply patches),
# delete; list and watch to wait on them.
OBJECT_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
# The built-in ClusterRoles a chart's RoleBindings commonly reference in their namespace.
NAMESPACE_ROLES = ["admin", "edit", "view"]

# Cluster-scoped built-in kinds: (API group, resource). Kubernetes API reference (v1.35), the
# kinds whose objects have no namespace.
CLUSTER_KINDS: dict[str, tuple[str, str]] = {
    "APIService": ("apiregistration.k8s.io", "apiservices"),
    "CertificateSigningRequest": ("certificates.k8s.io", "certificatesigningrequests"),
    "ClusterRole": (RBAC, "clusterroles"),
    "ClusterRoleBinding": (RBAC, "clusterrolebindings"),
    "ClusterTrustBundle": ("certificates.k8s.io", "clustertrustbundles"),
    "CSIDriver": ("storage.k8s.io", "csidrivers"),
    "CSINode": ("storage.k8s.io", "csinodes"),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "customresourcedefinitions"),
    "DeviceClass": ("resource.k8s.io", "deviceclasses"),
    "FlowSchema": ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    "IngressClass": ("networking.k8s.io", "ingressclasses"),
    "IPAddress": ("networking.k8s.io", "ipaddresses"),
    "MutatingAdmissionPolicy": ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    "MutatingAdmissionPolicyBinding": (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
    ),
    "MutatingWebhookConfiguration": (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    "Namespace": ("", "namespaces"),
    "Node": ("", "nodes"),
    "PersistentVolume": ("", "persistentvolumes"),
    "PriorityClass": ("scheduling.k8s.io", "priorityclasses"),
    "PriorityLevelConfiguration": ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    "RuntimeClass": ("node.k8s.io", "runtimeclasses"),
    "ServiceCIDR": ("networking.k8s.io", "servicecidrs"),
    "StorageClass": ("storage.k8s.io", "storageclasses"),
    "ValidatingAdmissionPolicy": ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    "ValidatingAdmissionPolicyBinding": (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    "ValidatingWebhookConfiguration": (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    "VolumeAttachment": ("storage.k8s.io", "volumeattachments"),
}


def group(spec: Spec, environment: Environment) -> str:
    """The Kubernetes group the access entry names (EKS refuses names starting `system:`)."""
    return f"pipelinegen:{spec.name}:{environment.name}"


def object_name(spec: Spec, environment: Environment) -> str:
    """The name of the RBAC objects of one environment (a DNS subdomain, ≤ 253 characters)."""
    return f"pipelinegen-{spec.name}-{environment.name}-deploy"


def manifest_path(environment: Environment) -> str:
    """Where compile writes the environment's objects, relative to the CDK app (so the release's
    `cdk/kubernetes/<env>.yaml` is what deploy.sh's preflight names)."""
    return f"kubernetes/{environment.name}.yaml"


def resource_of(kind: str) -> str:
    """The resource name of a custom kind: the lower-cased English plural, which is what CRDs
    declare as `spec.names.plural` by convention. Kubernetes' own UnsafeGuessKindToResource
    (k8s.io/apimachinery pkg/api/meta) makes every `-y` an `-ies`, which is wrong for a vowel
    before it (Gateway → gateways, Gateway API's own CRD)."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


def custom_groups(environment: Environment) -> list[str]:
    """The API groups of `api_versions` (the cluster's CRDs), sorted, without duplicates."""
    return sorted({version.rsplit("/", 1)[0] for version in environment.api_versions})


def cluster_rules(environment: Environment) -> list[dict[str, Any]]:
    """The ClusterRole rules of `access.cluster_kinds`: the object verbs on exactly those kinds
    (a kind not in CLUSTER_KINDS is a custom cluster-scoped resource of an `api_versions` group),
    and `escalate`/`bind` on the ClusterRoles `access.cluster_roles` names."""
    access = environment.access
    by_group: dict[str, set[str]] = {}
    for kind in access.cluster_kinds:
        if kind in CLUSTER_KINDS:
            api_group, resource = CLUSTER_KINDS[kind]
            by_group.setdefault(api_group, set()).add(resource)
        else:
            for api_group in custom_groups(environment) or [""]:
                by_group.setdefault(api_group, set()).add(resource_of(kind))
    rules: list[dict[str, Any]] = [
        {"apiGroups": [api_group], "resources": sorted(resources), "verbs": OBJECT_VERBS}
        for api_group, resources in sorted(by_group.items())
    ]
    if access.cluster_roles:
        rules.append(
            {
                "apiGroups": [RBAC],
                "resources": ["clusterroles"],
                "resourceNames": sorted(access.cluster_roles),
                "verbs": ["bind", "escalate"],
            }
        )
    return rules


def namespace_rules(environment: Environment) -> list[dict[str, Any]]:
    """The Role in the namespace: custom resources of the cluster's CRDs, Roles with any rules
    (`escalate`, `bind`), and bindings to the ClusterRoles the namespace may reference."""
    rules: list[dict[str, Any]] = []
    groups = custom_groups(environment)
    if groups:
        rules.append({"apiGroups": groups, "resources": ["*"], "verbs": OBJECT_VERBS})
    rules.append({"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["bind", "escalate"]})
    rules.append(
        {
            "apiGroups": [RBAC],
            "resources": ["clusterroles"],
            "resourceNames": sorted({*NAMESPACE_ROLES, *environment.access.cluster_roles}),
            "verbs": ["bind"],
        }
    )
    return rules


def manifests(spec: Spec, environment: Environment) -> list[dict[str, Any]]:
    """The objects that let the environment's group deploy what its access grants, in the order
    they must be applied (the namespace first)."""
    name = object_name(spec, environment)
    namespace = environment.namespace
    subject = [{"apiGroup": RBAC, "kind": "Group", "name": group(spec, environment)}]
    labels = {"app.kubernetes.io/managed-by": "pipelinegen"}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        _binding("RoleBinding", {**meta, "name": f"{name}-admin"}, "ClusterRole", "admin", subject),
        {"apiVersion": RBAC_VERSION, "kind": "Role", "metadata": meta,
         "rules": namespace_rules(environment)},
        _binding("RoleBinding", meta, "Role", name, subject),
    ]  # fmt: skip
    cluster_meta = {"name": name, "labels": labels}
    rules = cluster_rules(environment)
    if rules:
        objects.append(
            {"apiVersion": RBAC_VERSION, "kind": "ClusterRole", "metadata": cluster_meta,
             "rules": rules}
        )  # fmt: skip
        objects.append(_binding("ClusterRoleBinding", cluster_meta, "ClusterRole", name, subject))
    if environment.access.cluster_admin:
        admin_meta = {**cluster_meta, "name": f"{name}-cluster-admin"}
        objects.append(
            _binding("ClusterRoleBinding", admin_meta, "ClusterRole", "cluster-admin", subject)
        )
    return objects


def _binding(
    kind: str, metadata: dict[str, Any], role_kind: str, role: str, subjects: list[Any]
) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_VERSION,
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        "subjects": subjects,
    }


def document(spec: Spec, environment: Environment) -> str:
    """The environment's objects as one YAML stream, with what to do with it on top."""
    stream = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.explicit_start = True
    yaml.representer.ignore_aliases = lambda _data: True  # each object whole, no anchors
    yaml.dump_all(manifests(spec, environment), stream)
    entry = group(spec, environment)
    return (
        f"# The Kubernetes RBAC that lets environment '{environment.name}' deploy: apply it\n"
        f"# once to cluster {environment.cluster} as a cluster administrator, before the\n"
        f"# target stack's access entry names the group {entry} (docs/cluster-access.md):\n"
        f"#   kubectl apply --server-side -f deploy/cdk/{manifest_path(environment)}\n"
        f"{stream.getvalue()}"
    )

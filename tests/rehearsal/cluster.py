"""The cluster stand-in's state and its Kubernetes authorization, shared by helm_shim.py and
kubectl_shim.py (standard library and PyYAML only: they run in the rehearsal's venv).

No Kubernetes API server runs here, so a cluster is a folder (`REHEARSAL_CLUSTERS/<cluster ARN>`):

- `access.json`: {"group": the Kubernetes group the deploy role's EKS access entry names,
  "objects": what an admin applied (the environment's deploy/cdk/kubernetes/<env>.yaml)} —
  the stand-in for the access entry and for RBAC;
- `managers.json`: {"<namespace>/<Kind>/<name>": {"<field path>": "<field manager>"}} — fields
  another client than Helm owns (a simulated `kubectl scale`);
- `<namespace>/<release>.*`: each release's history and rendered manifests (helm_shim.py).

`allowed` decides as Kubernetes RBAC does ("Using RBAC Authorization"): rules reach the group
through RoleBindings (in their namespace) and ClusterRoleBindings (everywhere); a rule matches
its API groups, resources, verbs and (when set) resourceNames, `*` matching all. The built-in
ClusterRoles are modelled by what they grant: `cluster-admin` everything; `admin` and `edit`
every namespaced built-in resource (admin also Roles and RoleBindings), `view` reading them;
none of them any custom resource or cluster-scoped kind. `escalation` is Kubernetes' escalation
check: creating a Role/ClusterRole needs `escalate` on it (or every rule it grants), a
RoleBinding/ClusterRoleBinding `bind` on the role it references (or every rule of that role).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

RBAC = "rbac.authorization.k8s.io"
# Kubernetes' cluster-scoped built-in kinds (kept equal to pipelinegen.access.CLUSTER_KINDS by
# tests/rehearsal/test_cluster_stand_in.py).
CLUSTER_KINDS = {
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
    "ClusterTrustBundle", "CSIDriver", "CSINode", "CustomResourceDefinition", "DeviceClass",
    "FlowSchema", "IngressClass", "IPAddress", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace", "Node",
    "PersistentVolume", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass",
    "ServiceCIDR", "StorageClass", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "VolumeAttachment",
}  # fmt: skip
# API groups Kubernetes itself serves (the rest are custom resources).
BUILT_IN_GROUPS = {
    "", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "apps", "autoscaling", "batch", "certificates.k8s.io", "coordination.k8s.io",
    "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io", "networking.k8s.io",
    "node.k8s.io", "policy", RBAC, "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io",
}  # fmt: skip
READ = {"get", "list", "watch"}


def folder(clusters: Path, cluster_arn: str) -> Path:
    return clusters / re.sub(r"[^A-Za-z0-9_.-]", "_", cluster_arn)


def plural(kind: str) -> str:
    """The resource name of a kind (the lower-cased English plural CRDs and Kubernetes use)."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


def read_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.is_file() else default


def _built_in(role: str, group: str, resource: str, kind: str, verb: str) -> bool:
    """What the built-in ClusterRoles grant, by name."""
    if role == "cluster-admin":
        return True
    namespaced_built_in = group in BUILT_IN_GROUPS and kind not in CLUSTER_KINDS
    if role in ("admin", "edit"):
        rbac = group == RBAC and resource in ("roles", "rolebindings")
        return (
            namespaced_built_in
            and (role == "admin" or not rbac)
            and verb not in ("escalate", "bind", "impersonate")
        )
    if role == "view":
        return namespaced_built_in and verb in READ
    return False


def _matches(rule: dict[str, Any], group: str, resource: str, verb: str, name: str) -> bool:
    def has(key: str, value: str) -> bool:
        values = rule.get(key) or []
        return "*" in values or value in values

    names = rule.get("resourceNames") or []
    return (
        has("apiGroups", group)
        and has("resources", resource)
        and has("verbs", verb)
        and (not names or name in names)
    )


class Access:
    """What the deploy identity (the access entry's group) may do in one cluster."""

    def __init__(self, state: Path) -> None:
        data = read_json(state / "access.json", {"group": "", "objects": []})
        self.group: str = data["group"]
        self.objects: list[dict[str, Any]] = data["objects"]

    def namespaces(self) -> set[str]:
        return {o["metadata"]["name"] for o in self.objects if o.get("kind") == "Namespace"}

    def _role(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        for item in self.objects:
            meta = item.get("metadata", {})
            same = item.get("kind") == kind and meta.get("name") == name
            if same and (kind == "ClusterRole" or meta.get("namespace") == namespace):
                return item
        return None

    def _bindings(self) -> list[tuple[str | None, dict[str, Any]]]:
        """(namespace or None for cluster-wide, roleRef) of each binding of the group."""
        found = []
        for item in self.objects:
            if item.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            subjects = item.get("subjects") or []
            if any(s.get("kind") == "Group" and s.get("name") == self.group for s in subjects):
                where = item["metadata"].get("namespace") if item["kind"] == "RoleBinding" else None
                found.append((where, item["roleRef"]))
        return found

    def allowed(self, verb: str, group: str, kind: str, namespace: str, name: str = "") -> bool:
        resource = plural(kind)
        cluster_scoped = kind in CLUSTER_KINDS
        for where, ref in self._bindings():
            if where is not None and (cluster_scoped or where != namespace):
                continue
            if ref["kind"] == "ClusterRole" and _built_in(ref["name"], group, resource, kind, verb):
                return True
            role = self._role(ref["kind"], ref["name"], where or "")
            rules = (role or {}).get("rules") or []
            if any(_matches(rule, group, resource, verb, name) for rule in rules):
                return True
        return False

    def escalation(self, item: dict[str, Any], namespace: str) -> str | None:
        """Why Kubernetes' escalation check refuses creating `item`, or None."""
        kind, name = item.get("kind"), item.get("metadata", {}).get("name", "")
        if kind in ("Role", "ClusterRole"):
            if self.allowed("escalate", RBAC, kind, namespace, name):
                return None
            return f'{plural(kind)}.{RBAC} "{name}" is forbidden: user is attempting to grant ' \
                "RBAC permissions not currently held (no escalate)"  # fmt: skip
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = item.get("roleRef") or {}
            if self.allowed("bind", RBAC, str(ref.get("kind")), namespace, str(ref.get("name"))):
                return None
            return f'{plural(kind)}.{RBAC} "{name}" is forbidden: user is attempting to grant ' \
                f"RBAC permissions not currently held (no bind on {ref.get('kind')} " \
                f"{ref.get('name')})"  # fmt: skip
        return None

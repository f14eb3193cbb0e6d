"""Kubernetes facts the chart check renders and judges by: EKS versions, and removed API versions.

Two dated tables, kept here so one place changes when the world does:

- `EKS_VERSIONS`: the Kubernetes minor versions Amazon EKS runs, each with the date EKS released it
  and the end of its standard support (14 months after release; extended support then lasts 12
  more). Source: Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS"
  (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, release calendar),
  read 2026-12.
- `REMOVED_APIS`: every API version Kubernetes stopped serving, by kind, with the Kubernetes
  version that removed it and its replacement. Source: Kubernetes' Deprecated API Migration Guide
  (https://kubernetes.io/docs/reference/using-api/deprecation-guide/), read 2026-12.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class EksVersion:
    """One Kubernetes minor version on EKS: `version` as `1.NN`, with its support dates."""

    version: str
    released: date
    end_of_standard_support: date


TABLE_DATE = date(2026, 12, 1)

EKS_VERSIONS: tuple[EksVersion, ...] = (
    EksVersion("1.29", date(2024, 1, 23), date(2025, 3, 23)),
    EksVersion("1.30", date(2024, 5, 23), date(2025, 7, 23)),
    EksVersion("1.31", date(2024, 9, 26), date(2025, 11, 26)),
    EksVersion("1.32", date(2025, 1, 25), date(2026, 3, 23)),
    EksVersion("1.33", date(2025, 5, 28), date(2026, 7, 29)),
    EksVersion("1.34", date(2025, 10, 6), date(2026, 12, 2)),
    EksVersion("1.35", date(2026, 1, 28), date(2027, 3, 27)),
)

# The newest version in the table: what an environment without `kubernetes_version` renders for.
DEFAULT_KUBERNETES_VERSION = EKS_VERSIONS[-1].version
DEFAULT_KUBERNETES_VERSION_TEXT = (
    f"`{DEFAULT_KUBERNETES_VERSION}`, the newest EKS version in pipelinegen's table "
    f"(as of {TABLE_DATE:%Y-%m}); name your cluster's version, so a chart is judged by what it "
    "serves"
)


@dataclass(frozen=True)
class RemovedApi:
    """An API version of a kind that Kubernetes `removed_in` (`1.NN`) no longer serves; use
    `replacement` (`group/version`, or a sentence when nothing replaces it)."""

    api_version: str
    kind: str
    removed_in: str
    replacement: str


def _removed(removed_in: str, replacement: str, api_version: str, *kinds: str) -> list[RemovedApi]:
    return [RemovedApi(api_version, kind, removed_in, replacement) for kind in kinds]


_WORKLOADS = ("DaemonSet", "Deployment", "ReplicaSet")
_RBAC = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
_REVIEWS = ("SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview")
_FLOW = ("FlowSchema", "PriorityLevelConfiguration")
_WEBHOOKS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")

REMOVED_APIS: tuple[RemovedApi, ...] = (
    *_removed("1.16", "networking.k8s.io/v1", "extensions/v1beta1", "NetworkPolicy"),
    *_removed("1.16", "apps/v1", "extensions/v1beta1", *_WORKLOADS),
    *_removed("1.16", "apps/v1", "apps/v1beta1", "Deployment", "StatefulSet"),
    *_removed("1.16", "apps/v1", "apps/v1beta2", *_WORKLOADS, "StatefulSet"),
    *_removed(
        "1.22",
        "admissionregistration.k8s.io/v1",
        "admissionregistration.k8s.io/v1beta1",
        *_WEBHOOKS,
    ),
    *_removed(
        "1.22",
        "apiextensions.k8s.io/v1",
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
    ),
    *_removed("1.22", "apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1beta1", "APIService"),
    *_removed("1.22", "authentication.k8s.io/v1", "authentication.k8s.io/v1beta1", "TokenReview"),
    *_removed("1.22", "authorization.k8s.io/v1", "authorization.k8s.io/v1beta1", *_REVIEWS),
    *_removed(
        "1.22",
        "certificates.k8s.io/v1",
        "certificates.k8s.io/v1beta1",
        "CertificateSigningRequest",
    ),
    *_removed("1.22", "coordination.k8s.io/v1", "coordination.k8s.io/v1beta1", "Lease"),
    *_removed("1.22", "networking.k8s.io/v1", "extensions/v1beta1", "Ingress"),
    *_removed(
        "1.22", "networking.k8s.io/v1", "networking.k8s.io/v1beta1", "Ingress", "IngressClass"
    ),
    *_removed("1.22", "rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1", *_RBAC),
    *_removed("1.22", "scheduling.k8s.io/v1", "scheduling.k8s.io/v1beta1", "PriorityClass"),
    *_removed(
        "1.22",
        "storage.k8s.io/v1",
        "storage.k8s.io/v1beta1",
        "CSIDriver",
        "CSINode",
        "StorageClass",
        "VolumeAttachment",
    ),
    *_removed("1.25", "batch/v1", "batch/v1beta1", "CronJob"),
    *_removed("1.25", "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1", "EndpointSlice"),
    *_removed("1.25", "events.k8s.io/v1", "events.k8s.io/v1beta1", "Event"),
    *_removed("1.25", "autoscaling/v2", "autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    *_removed("1.25", "policy/v1", "policy/v1beta1", "PodDisruptionBudget"),
    *_removed(
        "1.25",
        "nothing: PodSecurityPolicy is gone; use Pod Security Admission",
        "policy/v1beta1",
        "PodSecurityPolicy",
    ),
    *_removed("1.25", "node.k8s.io/v1", "node.k8s.io/v1beta1", "RuntimeClass"),
    *_removed(
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
        "flowcontrol.apiserver.k8s.io/v1beta1",
        *_FLOW,
    ),
    *_removed("1.26", "autoscaling/v2", "autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    *_removed("1.27", "storage.k8s.io/v1", "storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    *_removed(
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
        "flowcontrol.apiserver.k8s.io/v1beta2",
        *_FLOW,
    ),
    *_removed(
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
        "flowcontrol.apiserver.k8s.io/v1beta3",
        *_FLOW,
    ),
)


def minor(version: str) -> int:
    """The minor number of a `1.NN` version."""
    return int(version.split(".")[1])


def removed_api(api_version: str, kind: str, kubernetes_version: str) -> RemovedApi | None:
    """The removal that makes `api_version` `kind` unserved by `kubernetes_version`, if any."""
    for removed in REMOVED_APIS:
        if (removed.api_version, removed.kind) == (api_version, kind) and minor(
            kubernetes_version
        ) >= minor(removed.removed_in):
            return removed
    return None

"""The Kubernetes versions Amazon EKS runs: the default an environment renders for.

One dated table, kept here so one place changes when the world does (the API versions each
Kubernetes version removed are the chart check's own table, REMOVED_APIS in
templates/cdk/scripts/chart_check.py, since the shipped check needs them):

- `EKS_VERSIONS`: the Kubernetes minor versions Amazon EKS runs, each with the date EKS released it
  and the end of its standard support (14 months after release; extended support then lasts 12
  more). Source: Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS"
  (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, release calendar),
  read 2026-12 (cross-checked with endoflife.date/amazon-eks).
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

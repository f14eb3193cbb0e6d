"""An approved environment's cluster reached through another name or place is high-risk, in both
delivery modes: the edits an attacker would make (rename, insert beside, reorder, retarget), each
in more than one spelling, and the edits that must stay quiet."""

from __future__ import annotations

import pytest

from pipelinegen.diff.rules import Delta, View, summarize
from pipelinegen.errors import SpecError
from tests.conftest import full_spec

PROD_HEAD = "  - name: prod\n"
STAGING = (  # the full example's staging, whole (its network and helm blocks included)
    '  - name: staging\n    account: "222222222222"\n    cluster: acme-staging\n'
    "    namespace: platform\n    values: [deploy/helm/values-staging.yaml]\n"
    "    network:\n      vpc: vpc-1a2b3c4d\n      subnets: [subnet-1a2b3c4d]\n"
    "      security_groups: [sg-0123456789abcdef0]\n"
    "    helm: {force_conflicts: true}  # an HPA scales the api: let upgrades take replicas back\n"
)
PROD = (
    '  - name: prod\n    account: "333333333333"\n    region: us-west-2\n    cluster: acme-prod\n'
    "    namespace: platform\n    values: [deploy/helm/values-prod.yaml]\n    approval: true\n"
    "    marketplace: true\n"
)
GITHUB = ("\ngithub:\n", "\ndelivery: github\ngithub:\n")


def canary(name: str, *, approval: bool = True, region: str = "us-west-2") -> str:
    return (
        f'  - name: {name}\n    account: "333333333333"\n    region: {region}\n'
        f"    cluster: acme-prod\n    namespace: canary\n"
        + ("    approval: true\n" if approval else "")
    )


EDITS: dict[str, tuple[tuple[str, str], ...]] = {
    "renamed": ((PROD_HEAD, "  - name: production\n"),),
    "renamed alike": ((PROD_HEAD, "  - name: prod2\n"),),
    "retargeted, approved": (
        (
            "  - name: dev\n    cluster: acme-dev\n",
            '  - name: dev\n    approval: true\n    account: "333333333333"\n'
            "    region: us-west-2\n    cluster: acme-prod\n",
        ),
    ),
    "inserted before": ((PROD, canary("prod-canary") + PROD),),
    "inserted after": ((PROD, PROD + canary("zz-canary")),),
    "inserted first": (("environments:\n", "environments:\n" + canary("hotfix")),),
    "reordered": ((STAGING, ""), (PROD, PROD + STAGING)),
    "renamed and reordered": (
        (STAGING, ""),
        (PROD, PROD.replace("name: prod\n", "name: live\n") + STAGING),
    ),
}


def high(*edits: tuple[str, str], delivery: str) -> list[str]:
    mode = (GITHUB,) if delivery == "github" else ()
    base, head = full_spec(*mode), full_spec(*mode, *edits)
    return [
        change.message
        for change in summarize(Delta(View.of(base), View.of(head)))
        if change.rule == "approved-cluster-reached"
    ]


@pytest.mark.parametrize("delivery", ["aws", "github"])
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_reaching_an_approved_cluster_another_way_is_high(edit: str, delivery: str) -> None:
    found = high(*EDITS[edit], delivery=delivery)
    assert found, edit
    assert all("cluster 'acme-prod'" in message for message in found)
    if delivery == "github":
        assert all("which GitHub creates on first use with none" in m for m in found)


def test_the_issues_rename_is_no_longer_none_high_risk() -> None:
    """Renaming prod to production under delivery: github reported "3 pipeline changes, none
    high-risk"; the rename now names the GitHub environment that has no reviewers yet."""
    [message] = high((PROD_HEAD, "  - name: production\n"), delivery="github")
    assert message.startswith(
        "environment 'production' is new (it replaces 'prod') and deploys to cluster 'acme-prod'"
    )


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param((STAGING, STAGING.replace("staging\n", "preprod\n")), id="unapproved renamed"),
        pytest.param((PROD, PROD + canary("prod-eu", region="eu-west-1")), id="other region"),
        pytest.param(
            ("environments:\n", "environments:\n  - name: qa\n    cluster: q\n    namespace: q\n"),
            id="new cluster",
        ),
    ],
)
def test_what_does_not_reach_an_approved_cluster_stays_quiet(edit: tuple[str, str]) -> None:
    assert high(edit, delivery="github") == []


def test_an_unapproved_environment_on_the_approved_cluster_is_invalid() -> None:
    """The same edit without `approval: true` does not get as far as diff: validate refuses it."""
    with pytest.raises(SpecError) as raised:
        full_spec((PROD, canary("prod-canary", approval=False) + PROD))
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.message.startswith("environment 'prod-canary' deploys to cluster 'acme-prod'")

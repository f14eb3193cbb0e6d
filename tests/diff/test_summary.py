"""The semantic summary on specs, without git: each rule, and a stable order."""

from __future__ import annotations

import pytest

from pipelinegen.diff.summary import Change, summarize
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Spec
from tests.conftest import ROOT

FULL = (ROOT / "examples" / "full" / "pipeline.yaml").read_text()


def spec(*edits: tuple[str, str]) -> Spec:
    text = FULL
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return load(text, file="pipeline.yaml")


BASE = spec()
PROD_BLOCK = (
    '  - name: prod\n    account: "333333333333"\n    region: us-west-2\n    cluster: acme-prod\n'
    "    namespace: platform\n    values: [deploy/helm/values-prod.yaml]\n    approval: true\n"
    "    marketplace: true\n"
)
NO_MARKETPLACE = (PROD_BLOCK, PROD_BLOCK.replace("    marketplace: true\n", ""))


def messages(head: Spec, base: Spec = BASE) -> list[tuple[str, str]]:
    return [(change.risk, change.message) for change in summarize(base, head)]


def test_same_spec_no_change() -> None:
    assert summarize(BASE, spec()) == []


def test_marketplace_turned_off() -> None:
    head = spec(NO_MARKETPLACE, ("marketplace:\n  product_id", "x-old-marketplace:\n  product_id"))
    assert messages(head) == [("high", "AWS Marketplace publishing is turned off")]


def test_marketplace_product_changed() -> None:
    head = spec(("product_id: prod-abcdefghijklm", "product_id: prod-zzzzzzzzzzzzz"))
    assert messages(head) == [("high", "Marketplace settings change: product_id")]


def test_environment_with_an_approval_removed() -> None:
    head = spec(
        NO_MARKETPLACE,
        (PROD_BLOCK.replace("    marketplace: true\n", ""), ""),
        ("marketplace:\n  product_id", "x-old:\n  product_id"),
    )
    found = messages(head)
    assert found[0] == ("high", "environment 'prod', which required a manual approval, is removed")
    assert ("high", "AWS Marketplace publishing is turned off") in found
    assert not any("environment 'prod' is removed" in message for _, message in found)


def test_trusted_repository_and_regions() -> None:
    head = spec(
        ("repository: acme/platform", "repository: acme/other"),
        ("    region: us-west-2\n", "    region: eu-west-1\n"),
    )
    assert messages(head) == [
        ("high", "region eu-west-1 is newly used (environment 'prod')"),
        ("high", "the trusted GitHub repository changes from acme/platform to acme/other"),
        ("medium", "environment 'prod': region changes from us-west-2 to eu-west-1"),
    ]


def test_tag_pattern_removed_and_settings() -> None:
    head = spec(
        ('release_tags: ["v*"]', 'release_tags: ["release-*"]'),
        ("runner: ubuntu-24.04", "runner: ubuntu-24.04-arm"),
        ("bucket: acme-platform-releases", "bucket: acme-platform-handoff"),
    )
    found = messages(head)
    assert found[0][0] == "high" and "'release-*' now start releases" in found[0][1]
    assert ("medium", "tags matching 'v*' no longer start releases") in found
    assert ("low", "runner changes from ubuntu-24.04 to ubuntu-24.04-arm") in found
    assert any(
        risk == "medium" and message.startswith("release bucket and key changes")
        for risk, message in found
    )


def test_environments_reordered_and_retargeted() -> None:
    dev = (
        "  - name: dev\n    cluster: acme-dev\n    namespace: platform\n"
        "    values: [deploy/helm/values-dev.yaml]\n"
    )
    head = spec(
        (dev, ""), ("  - name: prod\n", dev.replace("acme-dev", "acme-dev2") + "  - name: prod\n")
    )
    assert messages(head) == [
        ("medium", "environments are reordered: staging → dev → prod"),
        ("medium", "environment 'dev': cluster changes from acme-dev to acme-dev2"),
    ]


@pytest.mark.parametrize("count", [2, 5])
def test_added_environments_come_in_a_stable_order(count: int) -> None:
    names = [f"extra-{i}" for i in range(count)]
    block = "".join(f"  - name: {n}\n    cluster: c{n}\n    namespace: ns\n" for n in names)
    head = spec(("environments:\n", "environments:\n" + block))
    added = [c.message for c in summarize(BASE, head) if "is added" in c.message]
    assert added == [
        f"environment '{n}' is added (account 111111111111, cluster c{n})" for n in sorted(names)
    ]


def test_changes_are_ordered_by_risk() -> None:
    head = spec(
        ("    approval: true\n", ""),
        ("preset: gitleaks", "preset: gitleaks\n    timeout_minutes: 9"),
    )
    risks = [change.risk for change in summarize(BASE, head)]
    assert risks == sorted(risks, key=["high", "medium", "low"].index)
    assert isinstance(summarize(BASE, head)[0], Change)

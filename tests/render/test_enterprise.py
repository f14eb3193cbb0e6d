"""An organisation's settings reach every resource of every stack, in both delivery modes
(tests/render/specs/enterprise.yaml, synthesized for real; cfn-lint and checkov run on it with
every other spec in test_cdk_app.py), and its patches reach the workflow they edit."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelinegen import naming
from tests.conftest import ROOT
from tests.render.conftest import spec_texts

SPEC = "spec-enterprise"
MODES = [SPEC, f"{SPEC}-flipped"]
TAGS = {"cost-center": "4711", "owner": "platform-team"}
KEY = "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@functools.cache
def taggable(kind: str) -> bool:
    """Whether CloudFormation's own resource schema (as cfn-lint ships it) gives `kind` Tags."""
    [schemas] = (ROOT / ".venv-tools").glob("lib/python*/site-packages/cfnlint/data/schemas")
    providers = json.loads((schemas / "providers" / "eu-central-1.json").read_text())
    if kind not in providers:
        return False
    schema = json.loads((schemas / "resources" / f"{providers[kind]}.json").read_text())
    return "Tags" in schema.get("properties", {})


def all_resources(synthesized: dict[str, Path], name: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(synthesized[name].glob("*.template.json")):
        template = json.loads(path.read_text())
        found.extend((f"{path.stem}/{lid}", r) for lid, r in template["Resources"].items())
    return found


@pytest.mark.parametrize("name", MODES)
def test_every_role_has_the_boundary_and_the_path(synthesized: dict[str, Path], name: str) -> None:
    roles = [
        (lid, r) for lid, r in all_resources(synthesized, name) if r["Type"] == "AWS::IAM::Role"
    ]
    assert roles
    for lid, role in roles:
        properties = role["Properties"]
        boundary = json.dumps(properties.get("PermissionsBoundary"))
        assert ":policy/acme-developer-boundary" in boundary, lid
        assert properties.get("Path") == "/acme/pipelines/", lid


@pytest.mark.parametrize("name", MODES)
def test_every_taggable_resource_has_the_tags(synthesized: dict[str, Path], name: str) -> None:
    checked = 0
    for lid, resource in all_resources(synthesized, name):
        if not taggable(resource["Type"]):
            continue
        tags = resource["Properties"].get("Tags")
        found = (
            {t["Key"]: t["Value"] for t in tags}
            if isinstance(tags, list)
            else dict(tags or {})  # a few types (SSM parameters) take a map
        )
        assert found.items() >= TAGS.items(), f"{lid} ({resource['Type']}): {found}"
        checked += 1
    assert checked > 5


@pytest.mark.parametrize("name", MODES)
def test_the_customer_key_encrypts_buckets_repositories_and_logs(
    synthesized: dict[str, Path], name: str
) -> None:
    resources = all_resources(synthesized, name)
    kinds = {r["Type"] for _, r in resources}
    assert "AWS::ECR::Repository" in kinds
    for lid, resource in resources:
        properties = resource["Properties"]
        if resource["Type"] == "AWS::S3::Bucket" and "AccessLogs" not in lid:
            [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == KEY, lid
        if resource["Type"] == "AWS::ECR::Repository":
            assert properties["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": KEY}
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert properties["KmsKeyId"] == KEY, lid


def test_a_failed_release_publishes_to_the_alarm_topic(synthesized: dict[str, Path]) -> None:
    resources = dict(all_resources(synthesized, SPEC))
    [rule] = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"]["EventPattern"].get("detail", {}).get("state") == ["FAILED"]
    ]
    [target] = rule["Properties"]["Targets"]
    topics = [lid for lid, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    assert any(lid.endswith(target["Arn"]["Ref"]) for lid in topics)


def test_the_patch_adds_a_step_to_the_ci_job(compiled: dict[str, Path]) -> None:
    workflow = yaml.safe_load((compiled[SPEC] / naming.CI_WORKFLOW).read_text())
    job = workflow["jobs"]["test"]
    assert job["timeout-minutes"] == 45
    assert job["steps"][-1]["name"] == "Upload the coverage report"
    text = (compiled[SPEC] / naming.CI_WORKFLOW).read_text()
    assert "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0" in text


def test_the_spec_is_among_the_linted_ones() -> None:
    assert set(MODES) <= set(spec_texts())

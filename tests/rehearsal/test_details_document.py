"""The Catalog API stand-in's AddDeliveryOptions DetailsDocument check, against what AWS's
Catalog API reference and its ContainerProduct@1.0 shapes allow (see the schema's $comment):
no servers, so it runs without the rehearsal's parts."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cdk.test_marketplace import mp as marketplace

SCHEMA = json.loads(
    (Path(__file__).parent / "servers" / "add_delivery_options.schema.json").read_text()
)
IMAGE = "709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/api:v1.0.0"
# What the release's marketplace.py sends (tests/cdk/test_marketplace.py holds its exact JSON).
DOCUMENT: dict[str, Any] = marketplace.build_changeset(
    "prod-abc123",
    "v1.0.0",
    "First release.",
    "Helm on Amazon EKS",
    [IMAGE],
    ["EKS"],
    "helm install api ...",
    None,
)[0]["DetailsDocument"]
Edit = Callable[[dict[str, Any]], None]


def errors(edit: Edit) -> list[str]:
    document = copy.deepcopy(DOCUMENT)
    edit(document)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [error.message for error in validator.iter_errors(document)]


def test_the_document_the_release_sends_is_accepted() -> None:
    assert errors(lambda document: None) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["DeliveryOptions"][0].update(Release=True, Visibility="Limited"),
        lambda d: d["DeliveryOptions"][0]["Details"]["EcrDeliveryOptionDetails"].update(
            AccessRoleArn="arn:aws:iam::111111111111:role/marketplace-ecs-access",
            DeploymentResources=[{"Name": "Chart", "Url": "https://example.com/chart"}] * 4,
        ),
    ],
    ids=["release-and-visibility", "access-role-and-four-resources"],
)
def test_optional_fields_aws_documents_are_accepted(edit: Edit) -> None:
    assert errors(edit) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["DeliveryOptions"][0].update(Id="do-1"), "'Id' was unexpected"),
        (lambda d: d["Version"].update(VersionTitle=" v1"), "does not match '^\\\\S'"),
        (lambda d: d["DeliveryOptions"][0].update(Visibility="Private"), "is not one of"),
        (
            lambda d: d["DeliveryOptions"][0]["Details"]["EcrDeliveryOptionDetails"].update(
                DeploymentResources=[{"Name": "r", "Url": "u"}] * 5
            ),
            "is too long",
        ),
        (
            lambda d: d["DeliveryOptions"][0]["Details"]["EcrDeliveryOptionDetails"].update(
                AccessRoleArn="arn:aws:iam::111:role/short-account"
            ),
            "does not match",
        ),
        (
            lambda d: d["DeliveryOptions"][0]["Details"].update(Ecr={}),
            "'Ecr' was unexpected",
        ),
    ],
    ids=["update-only-id", "blank-title", "visibility", "five-resources", "role-arn", "legacy-key"],
)
def test_fields_aws_does_not_document_are_rejected(edit: Edit, message: str) -> None:
    assert any(message in error for error in errors(edit)), errors(edit)

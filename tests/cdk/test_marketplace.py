"""marketplace.py: the change set it builds (exact JSON, the Catalog API's limits), its client
token, and its start/wait logic on scripted AWS answers with a fake clock."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cdk.conftest import SCRIPTS
from tests.conftest import ROOT


def _load(name: str) -> Any:
    """The script as a module (it is a file beside the shell scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"pipelinegen_cdk_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


mp = _load("marketplace")
REGISTRY = "709825985650.dkr.ecr.us-east-1.amazonaws.com"
IMAGES = [f"{REGISTRY}/acme/api:v1.2.3", f"{REGISTRY}/acme/web:v1.2.3"]


def sample(**changes: Any) -> list[dict[str, Any]]:
    arguments: dict[str, Any] = {
        "product_id": "prod-abcdefghijklm",
        "version": "v1.2.3",
        "release_notes": "Release v1.2.3",
        "title": "Helm on Amazon EKS",
        "images": IMAGES,
        "compatible_services": ["EKS"],
        "usage_instructions": "helm install platform oci://...",
        "description": "The Acme platform.",
    }
    arguments.update(changes)
    result: list[dict[str, Any]] = mp.build_changeset(**arguments)
    return result


def problems(**changes: Any) -> list[str]:
    with pytest.raises(mp.ChangeSetError) as raised:
        sample(**changes)
    return str(raised.value).splitlines()


# --- the change set --------------------------------------------------------------------------


def test_the_change_set_is_exactly_add_delivery_options() -> None:
    assert sample() == [
        {
            "ChangeType": "AddDeliveryOptions",
            "Entity": {"Type": "ContainerProduct@1.0", "Identifier": "prod-abcdefghijklm"},
            "DetailsDocument": {
                "Version": {"VersionTitle": "v1.2.3", "ReleaseNotes": "Release v1.2.3"},
                "DeliveryOptions": [
                    {
                        "DeliveryOptionTitle": "Helm on Amazon EKS",
                        "Details": {
                            "EcrDeliveryOptionDetails": {
                                "ContainerImages": IMAGES,
                                "CompatibleServices": ["EKS"],
                                "Description": "The Acme platform.",
                                "UsageInstructions": "helm install platform oci://...",
                            }
                        },
                    }
                ],
            },
        }
    ]


def test_without_a_description_the_title_describes_the_option() -> None:
    details = sample(description=None)[0]["DetailsDocument"]["DeliveryOptions"][0]["Details"]
    assert details["EcrDeliveryOptionDetails"]["Description"] == "Helm on Amazon EKS"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"version": "v" * 65}, "VersionTitle: 65 characters; at most 64"),
        ({"release_notes": "n" * 30001}, "ReleaseNotes: 30001 characters; at most 30000"),
        ({"title": "t" * 73}, "DeliveryOptionTitle: 73 characters; at most 72"),
        ({"description": "d" * 1001}, "Description: 1001 characters; at most 1000"),
        ({"usage_instructions": "u" * 4001}, "UsageInstructions: 4001 characters; at most 4000"),
        ({"usage_instructions": ""}, "UsageInstructions: must not be empty or start with"),
        ({"release_notes": " notes"}, "ReleaseNotes: must not be empty or start with whitespace"),
        ({"images": []}, "ContainerImages: 0 images; 1 to 50"),
        ({"images": [f"{REGISTRY}/acme/i{n}:v1" for n in range(51)]}, "ContainerImages: 51"),
        ({"images": [IMAGES[0], IMAGES[0]]}, "ContainerImages: lists an image twice"),
        ({"images": ["docker.io/a/b:v1"]}, "ContainerImages: 'docker.io/a/b:v1' is not <seller"),
        ({"images": [f"{REGISTRY}/api:v1"]}, f"ContainerImages: '{REGISTRY}/api:v1' is not"),
        ({"images": [f"{REGISTRY}/a/b:latest"]}, f"ContainerImages: '{REGISTRY}/a/b:latest': "),
        ({"compatible_services": []}, "CompatibleServices: 0 services; 1 to 4"),
        ({"compatible_services": ["ECS"] * 5}, "CompatibleServices: 5 services; 1 to 4"),
        ({"compatible_services": ["EKS", "EKS"]}, "CompatibleServices: lists a service twice"),
        ({"compatible_services": ["eks"]}, "CompatibleServices: 'eks' is not one of ECS, EKS"),
        ({"product_id": "abc"}, "Identifier: 'abc' is not a product ID"),
    ],
)
def test_each_broken_limit_names_its_field(changes: dict[str, Any], expected: str) -> None:
    found = problems(**changes)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_every_problem_is_reported_at_once() -> None:
    assert problems(version="", title="t" * 80, compatible_services=["Lambda"]) == [
        "VersionTitle: must not be empty or start with whitespace",
        "DeliveryOptionTitle: 80 characters; at most 72",
        "CompatibleServices: 'Lambda' is not one of ECS, EKS, ECS-Anywhere, EKS-Anywhere, "
        "Bedrock-AgentCore",
    ]


def test_the_limits_themselves_are_allowed() -> None:
    sample(
        version="v" * 64,
        release_notes="n" * 30000,
        title="t" * 72,
        description="d" * 1000,
        usage_instructions="u" * 4000,
        images=[f"{REGISTRY}/acme/i{n}:v1" for n in range(50)],
        compatible_services=["ECS", "EKS", "ECS-Anywhere", "EKS-Anywhere"],
    )
    sample(compatible_services=["Bedrock-AgentCore"])


# --- token and name --------------------------------------------------------------------------


def test_the_client_token_is_deterministic_and_short_enough() -> None:
    token = mp.client_token("prod-abcdefghijklm", "v1.2.3")
    assert token == mp.client_token("prod-abcdefghijklm", "v1.2.3", 1)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert token != mp.client_token("prod-abcdefghijklm", "v1.2.4")
    assert token != mp.client_token("prod-other", "v1.2.3")
    assert token != mp.client_token("prod-abcdefghijklm", "v1.2.3", 2)
    with pytest.raises(ValueError, match="attempt must be 1 or more"):
        mp.client_token("prod-abcdefghijklm", "v1.2.3", 0)


@given(st.text(max_size=200), st.text(max_size=200), st.integers(min_value=1, max_value=99))
def test_any_token_and_name_fit_the_api(product: str, version: str, attempt: int) -> None:
    token = mp.client_token(product, version, attempt)
    assert 32 <= len(token) <= 64 and re.fullmatch(r"[!-~]+", token)  # ClientRequestToken
    name = mp.change_set_name(product, version)
    assert 1 <= len(name) <= 100 and re.fullmatch(r"[\w\s+=.:@-]+", name)  # ChangeSetName


# --- waiting ---------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def scripted(*answers: dict[str, Any] | Exception) -> Callable[[str], dict[str, Any]]:
    """DescribeChangeSet answering in turn (exceptions raised), the last answer repeated."""
    asked: list[str] = []

    def describe(change_set_id: str) -> dict[str, Any]:
        asked.append(change_set_id)
        answer = answers[min(len(asked), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return describe


def wait(describe: Callable[[str], Any], timeout: float = 600.0) -> tuple[Any, FakeTime]:
    time = FakeTime()
    outcome = mp.wait("cs-1", describe, time.sleep, timeout, interval=60.0, clock=time.clock)
    return outcome, time


def test_wait_returns_at_once_when_the_change_set_succeeded() -> None:
    outcome, time = wait(scripted({"Status": "SUCCEEDED"}))
    assert outcome == mp.Outcome("SUCCEEDED", "cs-1")
    assert outcome.succeeded and time.sleeps == []


def test_wait_polls_until_success() -> None:
    outcome, time = wait(
        scripted({"Status": "PREPARING"}, {"Status": "APPLYING"}, {"Status": "SUCCEEDED"})
    )
    assert outcome.succeeded and time.sleeps == [60.0, 60.0]


def test_wait_returns_the_errors_of_a_failed_change_set() -> None:
    failed = {
        "Status": "FAILED",
        "FailureCode": "CLIENT_ERROR",
        "FailureDescription": "Validation failed",
        "ChangeSet": [
            {
                "ChangeType": "AddDeliveryOptions",
                "ErrorDetailList": [
                    {"ErrorCode": "INVALID_CONTAINER_IMAGE_TAG", "ErrorMessage": "no latest"},
                    {"ErrorCode": "SCAN_ERROR", "ErrorMessage": "CVE-2099-1"},
                ],
            }
        ],
    }
    outcome, _ = wait(scripted({"Status": "APPLYING"}, failed))
    assert outcome == mp.Outcome(
        "FAILED",
        "cs-1",
        failure_code="CLIENT_ERROR",
        failure_description="Validation failed",
        errors=["INVALID_CONTAINER_IMAGE_TAG: no latest", "SCAN_ERROR: CVE-2099-1"],
    )
    assert not outcome.succeeded
    lines = mp.report(outcome, attempt=1)
    assert lines[:3] == [
        "CLIENT_ERROR: Validation failed",
        "  INVALID_CONTAINER_IMAGE_TAG: no latest",
        "  SCAN_ERROR: CVE-2099-1",
    ]
    assert (
        lines[3].startswith("error: change set cs-1 FAILED; ")
        and "CHANGE_SET_ATTEMPT=2" in (lines[3])
    )


def test_wait_treats_cancelled_as_final() -> None:
    outcome, _ = wait(scripted({"Status": "CANCELLED"}))
    assert outcome.status == "CANCELLED" and outcome.errors == []


def test_wait_gives_up_at_the_timeout() -> None:
    outcome, time = wait(scripted({"Status": "APPLYING"}), timeout=150.0)
    assert outcome == mp.Outcome("TIMEOUT", "cs-1", failure_description="still APPLYING")
    assert time.sleeps == [60.0, 60.0, 30.0]  # never past the deadline
    (line,) = mp.report(outcome, attempt=1)
    assert line.startswith("error: change set cs-1 has not finished (still APPLYING); ")
    assert "describe-change-set --region us-east-1 --catalog AWSMarketplace" in line


def test_wait_asks_again_when_throttled_and_stops_on_other_errors() -> None:
    throttled = mp.AwsError("ThrottlingException", "Rate exceeded")
    outcome, time = wait(scripted(throttled, {"Status": "SUCCEEDED"}))
    assert outcome.succeeded and time.sleeps == [60.0]
    with pytest.raises(mp.AwsError, match="AccessDeniedException"):
        wait(scripted(mp.AwsError("AccessDeniedException", "no")))


# --- starting --------------------------------------------------------------------------------


class FakeAws:
    """`aws` answering StartChangeSet from a script; records every call."""

    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> Any:
        if args[1] == "list-change-sets":  # no change set holds the product
            return {"ChangeSetSummaryList": []}
        self.calls.append(list(args))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def start(aws: FakeAws, **options: Any) -> tuple[str, FakeTime]:
    time = FakeTime()
    change_set_id: str = mp.start(
        Path("/tmp/changeset.json"),
        name="pipelinegen prod-abc v1",
        token="t" * 64,
        run=aws,
        sleep=time.sleep,
        log=lambda _: None,
        **options,
    )
    return change_set_id, time


def test_start_passes_the_change_set_name_and_token() -> None:
    aws = FakeAws({"ChangeSetId": "cs-9", "ChangeSetArn": "arn:..."})
    assert start(aws)[0] == "cs-9"
    assert aws.calls == [
        [
            "marketplace-catalog",
            "start-change-set",
            "--region",
            "us-east-1",
            "--catalog",
            "AWSMarketplace",
            "--change-set",
            "file:///tmp/changeset.json",
            "--change-set-name",
            "pipelinegen prod-abc v1",
            "--client-request-token",
            "t" * 64,
        ]
    ]


def test_start_waits_while_another_change_set_holds_the_product() -> None:
    busy = mp.AwsError("ResourceInUseException", "The entity is locked")
    aws = FakeAws(busy, busy, busy, {"ChangeSetId": "cs-1"})
    change_set_id, time = start(aws, delay=60.0, max_delay=150.0)
    assert change_set_id == "cs-1"
    assert time.sleeps == [60.0, 120.0, 150.0]  # doubling, capped
    assert len({json.dumps(call) for call in aws.calls}) == 1  # the same request each time


def test_start_gives_up_after_its_attempts_and_on_other_errors() -> None:
    busy = mp.AwsError("ResourceInUseException", "The entity is locked")
    aws = FakeAws(busy)
    with pytest.raises(mp.AwsError, match="ResourceInUseException"):
        start(aws, attempts=3, delay=1.0)
    assert len(aws.calls) == 3
    aws = FakeAws(mp.AwsError("ValidationException", "bad"))
    with pytest.raises(mp.AwsError, match="ValidationException"):
        start(aws)
    assert len(aws.calls) == 1
    with pytest.raises(mp.AwsError, match="no ChangeSetId"):
        start(FakeAws({}))


def test_aws_errors_are_read_from_the_cli_message() -> None:
    error = mp.AwsError.from_stderr(
        "\nAn error occurred (ResourceInUseException) when calling the StartChangeSet "
        "operation: Requested change set has entities locked by change sets - cs-0\n",
        254,
    )
    assert (error.code, error.message) == (
        "ResourceInUseException",
        "Requested change set has entities locked by change sets - cs-0",
    )
    error = mp.AwsError.from_stderr("Unable to locate credentials.\n", 253)
    assert (error.code, str(error)) == ("", "Unable to locate credentials.")
    assert mp.AwsError.from_stderr("", 255).message == "aws exited with status 255"


# --- the command line ------------------------------------------------------------------------


def test_changeset_command_reads_the_usage_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = tmp_path / "usage.md"
    usage.write_text("\n  helm install it\n\n")
    arguments = ["changeset", "--product-id", "prod-abc", "--version", "v1", "--title", "T"]
    arguments += ["--compatible-services", " EKS, ECS ", "--usage-instructions-file", str(usage)]
    arguments += ["--image", f"{REGISTRY}/acme/api:v1"]
    assert mp.main(arguments) == 0
    change = json.loads(capsys.readouterr().out)[0]["DetailsDocument"]
    assert change["Version"] == {"VersionTitle": "v1", "ReleaseNotes": "Release v1"}
    details = change["DeliveryOptions"][0]["Details"]["EcrDeliveryOptionDetails"]
    assert details["UsageInstructions"] == "helm install it"
    assert details["CompatibleServices"] == ["EKS", "ECS"]
    assert details["Description"] == "T"
    assert mp.main([*arguments[:-2]]) == 1
    assert capsys.readouterr().err == "error: change set: ContainerImages: 0 images; 1 to 50\n"


def test_publish_command_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changeset = tmp_path / "changeset.json"
    changeset.write_text("[]")
    arguments = ["publish", "--changeset", str(changeset), "--product-id", "prod-abc"]
    arguments += ["--version", "v1", "--interval", "0", "--retry-delay", "0"]
    succeeded = FakeAws({"ChangeSetId": "cs-1"}, {"Status": "SUCCEEDED"})
    assert mp.main(arguments, run=succeeded) == 0
    assert succeeded.calls[1][:2] == ["marketplace-catalog", "describe-change-set"]
    assert succeeded.calls[1][-2:] == ["--change-set-id", "cs-1"]
    assert "change set cs-1 SUCCEEDED" in capsys.readouterr().out
    failed = FakeAws({"ChangeSetId": "cs-1"}, {"Status": "FAILED"})
    assert mp.main([*arguments, "--attempt", "2"], run=failed) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: change set cs-1 FAILED")
    token = failed.calls[0][failed.calls[0].index("--client-request-token") + 1]
    assert token == mp.client_token("prod-abc", "v1", 2)
    denied = FakeAws(mp.AwsError("AccessDeniedException", "not allowed"))
    assert mp.main(arguments, run=denied) == 1
    assert capsys.readouterr().err.endswith("error: AccessDeniedException: not allowed\n")


def test_token_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert mp.main(["token", "--product-id", "prod-abc", "--version", "v1"]) == 0
    assert capsys.readouterr().out == mp.client_token("prod-abc", "v1") + "\n"


# --- the Helm chart delivery option ------------------------------------------------------------

# The change set's shape as AWS documents it (Catalog API reference, "Work with container-based
# products": container image and Helm delivery request syntax), the rehearsal's Catalog stand-in
# checks every request against the same schema.
DETAILS_SCHEMA = json.loads(
    (ROOT / "tests" / "rehearsal" / "servers" / "add_delivery_options.schema.json").read_text()
)
FULL_PIPELINE = json.loads(
    (ROOT / "examples" / "full" / "deploy" / "cdk" / "pipeline.json").read_text()
)
CHART_URI = f"{REGISTRY}/acme/platform:v1.2.3"


def both(**changes: Any) -> list[dict[str, Any]]:
    """The full example's change set: both delivery options, its Helm settings as compiled."""
    arguments: dict[str, Any] = {
        "delivery_options": FULL_PIPELINE["marketplace"]["delivery_options"],
        "helm": FULL_PIPELINE["marketplace"]["helm"],
        "helm_chart_uri": CHART_URI,
    }
    arguments.update(changes)
    return sample(**arguments)


def test_the_full_example_publishes_both_delivery_options_in_one_change() -> None:
    [change] = both()
    assert change["DetailsDocument"]["DeliveryOptions"] == [
        {
            "DeliveryOptionTitle": "Helm on Amazon EKS",
            "Details": {
                "EcrDeliveryOptionDetails": {
                    "ContainerImages": IMAGES,
                    "CompatibleServices": ["EKS"],
                    "Description": "The Acme platform.",
                    "UsageInstructions": "helm install platform oci://...",
                }
            },
        },
        {
            "DeliveryOptionTitle": "Helm chart for Amazon EKS",
            "Details": {
                "HelmDeliveryOptionDetails": {
                    "HelmChartUri": CHART_URI,
                    "ContainerImages": IMAGES,
                    "CompatibleServices": ["EKS"],
                    "Description": (
                        "The Acme platform API, worker and web front end, deployed with one "
                        "Helm chart."
                    ),
                    "UsageInstructions": "helm install platform oci://...",
                    "QuickLaunchEnabled": False,
                    "ReleaseName": "platform",
                    "Namespace": "platform",
                    "OverrideParameters": [
                        {
                            "Key": "replicas",
                            "DefaultValue": "2",
                            "Metadata": {
                                "Label": "Replicas",
                                "Description": "How many pods of each service to run.",
                                "Obfuscate": False,
                            },
                        }
                    ],
                }
            },
        },
    ]


@pytest.mark.parametrize("options", [["container-images"], ["helm"], ["container-images", "helm"]])
def test_every_choice_of_options_has_the_documented_shape(options: list[str]) -> None:
    import jsonschema

    [change] = both(delivery_options=options)
    jsonschema.Draft202012Validator(DETAILS_SCHEMA).validate(change["DetailsDocument"])
    found = [
        next(iter(option["Details"])) for option in change["DetailsDocument"]["DeliveryOptions"]
    ]
    kinds = {"container-images": "EcrDeliveryOptionDetails", "helm": "HelmDeliveryOptionDetails"}
    assert found == [kinds[option] for option in options]


def test_a_service_account_is_named_in_the_helm_option() -> None:
    helm = {**FULL_PIPELINE["marketplace"]["helm"], "service_account": "platform"}
    [change] = both(delivery_options=["helm"], helm=helm)
    details = change["DetailsDocument"]["DeliveryOptions"][0]["Details"]
    assert details["HelmDeliveryOptionDetails"]["MarketplaceServiceAccountName"] == "platform"


def helm_problems(**helm_changes: Any) -> list[str]:
    helm = {**FULL_PIPELINE["marketplace"]["helm"], **helm_changes}
    with pytest.raises(mp.ChangeSetError) as raised:
        both(helm=helm)
    return str(raised.value).splitlines()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"compatible_services": ["ECS"]}, "CompatibleServices: 'ECS' is not one of EKS"),
        ({"compatible_services": []}, "CompatibleServices: 0 services; 1 to 2"),
        ({"title": "t" * 73}, "Helm DeliveryOptionTitle: 73 characters; at most 72"),
        ({"title": "Helm on Amazon EKS"}, "DeliveryOptionTitle: both delivery options are titled"),
        ({"release_name": "r" * 51}, "ReleaseName: 51 characters; at most 50"),
        ({"namespace": "n" * 51}, "Namespace: 51 characters; at most 50"),
        ({"service_account": "s" * 51}, "MarketplaceServiceAccountName: 51 characters"),
        (
            {"override_parameters": [{"Key": "k", "Metadata": {"Label": "l", "Description": ""}}]},
            "k Metadata.Description: must not be empty",
        ),
        (
            {
                "override_parameters": [
                    {"Key": "k" * 51, "Metadata": {"Label": "l", "Description": "d"}}
                ]
            },
            "OverrideParameters Key: 51 characters; at most 50",
        ),
        (
            {"override_parameters": [{"Key": f"k{i}", "Metadata": {}} for i in range(16)]},
            "OverrideParameters: 16; at most 15",
        ),
    ],
)
def test_the_helm_option_keeps_the_catalog_api_limits(
    changes: dict[str, Any], expected: str
) -> None:
    assert any(line.startswith(expected) for line in helm_problems(**changes)), helm_problems(
        **changes
    )


@pytest.mark.parametrize(
    "uri",
    [
        None,
        "ghcr.io/acme/platform:v1.2.3",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/acme/platform:v1.2.3",
        f"{REGISTRY}/acme/platform",
        f"{REGISTRY}/acme/platform:latest",
    ],
)
def test_the_chart_must_be_in_the_marketplace_registry(uri: str | None) -> None:
    with pytest.raises(mp.ChangeSetError, match="HelmChartUri"):
        both(helm_chart_uri=uri)

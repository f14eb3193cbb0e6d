#!/usr/bin/env python3
"""Publish a release as a new version of an AWS Marketplace container product.

publish-marketplace.sh runs this (Python 3.9+, standard library only; `aws` on PATH):

    python3 marketplace.py changeset --product-id prod-abc --version v1.2.3 \\
        --title "Helm on Amazon EKS" --compatible-services EKS \\
        --usage-instructions-file usage.md --image <marketplace image> ... \\
        [--delivery-options container-images,helm --pipeline cdk/pipeline.json \\
         --helm-chart-uri <marketplace registry>/<prefix>/<chart>:<version>] > changeset.json
    python3 marketplace.py publish --changeset changeset.json --product-id prod-abc \\
        --version v1.2.3 --timeout 7200
    python3 marketplace.py token --product-id prod-abc --version v1.2.3

`changeset` writes the StartChangeSet `ChangeSet` list (one AddDeliveryOptions change for a
ContainerProduct@1.0, with its DetailsDocument: the container-image delivery option, the Helm
chart delivery option, or both, in one version), checking the Catalog API's field limits first.
The Helm option's settings come from pipeline.json (`marketplace.helm`). Shapes and limits: AWS
Marketplace Catalog API reference, "Work with container-based products" (AddDeliveryOptions:
EcrDeliveryOptionDetails, HelmDeliveryOptionDetails); lengths from awslabs'
aws-marketplace-catalog-api-shapes-for-python (ContainerProduct@1.0 change types).
`publish` first looks for the change set a previous run started for this release
(ListChangeSets by the product and the deterministic ChangeSetName `pipelinegen <product>
<version>`; the release zip is immutable, so the same release is the same change set): one still
PREPARING or APPLYING is resumed (waited for), one that SUCCEEDED ends the run. Otherwise it waits
up to --busy-timeout seconds (default 3600) while other change sets hold the product (PREPARING or
APPLYING: a previous version's scan, an edit in the portal), then starts the change set (retrying
while ResourceInUseException says another one got there first) and waits up to --timeout seconds
until it succeeds (exit 0), fails or is cancelled (its errors printed, exit 1), or the wait times
out (exit 1; running `publish` again resumes it). The client request token is derived from the
product and the version too, so a start that AWS received twice starts one change set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATALOG = "AWSMarketplace"
REGION = "us-east-1"  # the Catalog API's only endpoint
REGISTRY = "709825985650.dkr.ecr.us-east-1.amazonaws.com"  # AWS Marketplace's own ECR registry
ENTITY_TYPE = "ContainerProduct@1.0"
CHANGE_TYPE = "AddDeliveryOptions"

# Limits of the ContainerProduct@1.0 AddDeliveryOptions shapes (awslabs'
# aws-marketplace-catalog-api-shapes-for-python: AddVersion, AddDeliveryOption,
# AddDeliveryOptionsEcrDeliveryOptionDetails).
MAX_VERSION_TITLE = 64
MAX_RELEASE_NOTES = 30000
MAX_DELIVERY_OPTION_TITLE = 72
MAX_DESCRIPTION = 1000
MAX_USAGE_INSTRUCTIONS = 4000
MAX_IMAGE_URI = 1000
MAX_IMAGES = 50
MAX_SERVICES = 4
COMPATIBLE_SERVICES = ("ECS", "EKS", "ECS-Anywhere", "EKS-Anywhere", "Bedrock-AgentCore")
# HelmDeliveryOptionDetails (AddDeliveryOptionsHelmDeliveryOptionDetails, OverrideParameter,
# Metadata in the shapes package).
HELM_COMPATIBLE_SERVICES = ("EKS", "EKS-Anywhere")
MAX_HELM_SERVICES = 2
MAX_HELM_CHART_URI = 1000
MAX_HELM_NAME = 50  # ReleaseName, Namespace, MarketplaceServiceAccountName
MAX_OVERRIDE_PARAMETERS = 15
MAX_OVERRIDE_KEY = 50
MAX_OVERRIDE_DEFAULT = 150
MAX_OVERRIDE_LABEL = 50
MAX_OVERRIDE_DESCRIPTION = 200
DELIVERY_OPTIONS = ("container-images", "helm")

PRODUCT_ID = re.compile(r"^prod-[a-z0-9]+$")
IMAGE = re.compile(
    rf"^{re.escape(REGISTRY)}/[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
)
HELM_CHART_URI = re.compile(
    rf"^{re.escape(REGISTRY)}/[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
)
CHANGE_SET_NAME_UNSAFE = re.compile(r"[^\w\s+=.:@-]")

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
ACTIVE = ("PREPARING", "APPLYING")  # a change set that holds its entities (ChangeStatus)
BUSY_TIMEOUT = 3600.0  # how long a publication waits for other change sets on the product
# StartChangeSet: another change set holds the product, or the API is busy; both pass.
RETRY_START = ("ResourceInUseException", "ThrottlingException", "InternalServiceException")
RETRY_DESCRIBE = ("ThrottlingException", "InternalServiceException")

# AWS CLI retries (AWS CLI User Guide, "AWS CLI retries"): standard mode, 10 attempts in all
# instead of the default 3, for throttled calls; a caller's own settings win.
RETRY_ENV = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "10"}
Runner = Callable[[Sequence[str]], Any]  # runs `aws <args>`, returns the parsed JSON output
Sleep = Callable[[float], None]
Clock = Callable[[], float]
Log = Callable[[str], None]


class ChangeSetError(ValueError):
    """The change set would break the Catalog API's rules; every problem, one per line."""


class AwsError(Exception):
    """An `aws` command failed; `code` is the service's error code when it gave one."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message

    @classmethod
    def from_stderr(cls, stderr: str, returncode: int) -> AwsError:
        text = stderr.strip()
        found = re.search(
            r"An error occurred \((\w+)\)(?: when calling the \w+ operation)?: (.*)", text
        )
        if found:
            return cls(found.group(1), found.group(2).strip())
        lines = text.splitlines()
        return cls("", lines[-1] if lines else f"aws exited with status {returncode}")


@dataclass(frozen=True)
class Outcome:
    """How a change set ended: SUCCEEDED, FAILED, CANCELLED, or TIMEOUT (still running)."""

    status: str
    change_set_id: str
    failure_code: str = ""
    failure_description: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def build_changeset(
    product_id: str,
    version: str,
    release_notes: str,
    title: str,
    images: list[str],
    compatible_services: list[str],
    usage_instructions: str,
    description: str | None,
    *,
    delivery_options: Sequence[str] = ("container-images",),
    helm: dict[str, Any] | None = None,
    helm_chart_uri: str | None = None,
) -> list[dict[str, Any]]:
    """The StartChangeSet `ChangeSet`: one AddDeliveryOptions change adding `version` with each
    of `delivery_options`: `container-images` (EcrDeliveryOptionDetails titled `title`) and
    `helm` (HelmDeliveryOptionDetails: the chart at `helm_chart_uri` with the same images, set
    up by `helm`, pipeline.json's `marketplace.helm`). A missing description becomes the
    delivery option's title (the Catalog API requires one). Raises ChangeSetError listing every
    broken rule."""
    description = title if description is None else description
    problems = []
    if not PRODUCT_ID.match(product_id):
        problems.append(f"Identifier: {product_id!r} is not a product ID like prod-abc123")
    unknown = [option for option in delivery_options if option not in DELIVERY_OPTIONS]
    if not delivery_options or unknown or len(set(delivery_options)) != len(delivery_options):
        problems.append(
            f"delivery options {list(delivery_options)!r}: each of {', '.join(DELIVERY_OPTIONS)} "
            "at most once, at least one"
        )
    for name, value, limit in (
        ("VersionTitle", version, MAX_VERSION_TITLE),
        ("ReleaseNotes", release_notes, MAX_RELEASE_NOTES),
        ("UsageInstructions", usage_instructions, MAX_USAGE_INSTRUCTIONS),
    ):
        problems.extend(_text_problems(name, value, limit))
    problems.extend(_image_problems(images))
    options = []
    if "container-images" in delivery_options:
        problems.extend(_text_problems("DeliveryOptionTitle", title, MAX_DELIVERY_OPTION_TITLE))
        problems.extend(_text_problems("Description", description, MAX_DESCRIPTION))
        problems.extend(_service_problems(compatible_services))
        details = {
            "ContainerImages": list(images),
            "CompatibleServices": list(compatible_services),
            "Description": description,
            "UsageInstructions": usage_instructions,
        }
        options.append(
            {"DeliveryOptionTitle": title, "Details": {"EcrDeliveryOptionDetails": details}}
        )
    if "helm" in delivery_options:
        helm_option, found = _helm_option(helm, helm_chart_uri, images, usage_instructions)
        problems.extend(found)
        options.append(helm_option)
    titles = [option["DeliveryOptionTitle"] for option in options]
    if len(set(titles)) != len(titles):
        problems.append(f"DeliveryOptionTitle: both delivery options are titled {titles[0]!r}")
    if problems:
        raise ChangeSetError("\n".join(problems))
    return [
        {
            "ChangeType": CHANGE_TYPE,
            "Entity": {"Type": ENTITY_TYPE, "Identifier": product_id},
            "DetailsDocument": {
                "Version": {"VersionTitle": version, "ReleaseNotes": release_notes},
                "DeliveryOptions": options,
            },
        }
    ]


def _helm_option(
    helm: dict[str, Any] | None,
    chart_uri: str | None,
    images: list[str],
    usage_instructions: str,
) -> tuple[dict[str, Any], list[str]]:
    """The Helm chart delivery option and the rules it breaks."""
    helm = helm or {}
    problems = []
    title = str(helm.get("title") or "")
    description = str(helm.get("description") or title)
    problems.extend(_text_problems("Helm DeliveryOptionTitle", title, MAX_DELIVERY_OPTION_TITLE))
    problems.extend(_text_problems("Helm Description", description, MAX_DESCRIPTION))
    if not chart_uri or len(chart_uri) > MAX_HELM_CHART_URI or not HELM_CHART_URI.match(chart_uri):
        problems.append(
            f"HelmChartUri: {chart_uri!r} is not <seller prefix>/<chart>:<version> in the "
            f"Marketplace registry {REGISTRY}"
        )
    elif chart_uri.rsplit(":", 1)[1] == "latest":
        problems.append(f"HelmChartUri: {chart_uri!r}: Marketplace rejects the 'latest' tag")
    services = list(helm.get("compatible_services") or [])
    problems.extend(_service_problems(services, HELM_COMPATIBLE_SERVICES, MAX_HELM_SERVICES))
    details: dict[str, Any] = {
        "HelmChartUri": chart_uri,
        "ContainerImages": list(images),
        "CompatibleServices": services,
        "Description": description,
        "UsageInstructions": usage_instructions,
        "QuickLaunchEnabled": bool(helm.get("quick_launch")),
    }
    for key, field_name in (
        ("release_name", "ReleaseName"),
        ("namespace", "Namespace"),
        ("service_account", "MarketplaceServiceAccountName"),
    ):
        value = helm.get(key)
        if value is not None:
            problems.extend(_text_problems(field_name, str(value), MAX_HELM_NAME))
            details[field_name] = value
    parameters = list(helm.get("override_parameters") or [])
    problems.extend(_override_problems(parameters))
    if parameters:
        details["OverrideParameters"] = parameters
    return {
        "DeliveryOptionTitle": title,
        "Details": {"HelmDeliveryOptionDetails": details},
    }, problems


def _override_problems(parameters: list[Any]) -> list[str]:
    if len(parameters) > MAX_OVERRIDE_PARAMETERS:
        return [f"OverrideParameters: {len(parameters)}; at most {MAX_OVERRIDE_PARAMETERS}"]
    problems = []
    for parameter in parameters:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("Metadata"), dict):
            problems.append(f"OverrideParameters: {parameter!r} has no Key and Metadata")
            continue
        key, metadata = str(parameter.get("Key", "")), parameter["Metadata"]
        problems.extend(_text_problems("OverrideParameters Key", key, MAX_OVERRIDE_KEY))
        if "DefaultValue" in parameter:
            problems.extend(
                _text_problems(
                    f"{key} DefaultValue", str(parameter["DefaultValue"]), MAX_OVERRIDE_DEFAULT
                )
            )
        for name, limit in (
            ("Label", MAX_OVERRIDE_LABEL),
            ("Description", MAX_OVERRIDE_DESCRIPTION),
        ):
            problems.extend(
                _text_problems(f"{key} Metadata.{name}", str(metadata.get(name, "")), limit)
            )
    keys = [str(parameter.get("Key")) for parameter in parameters if isinstance(parameter, dict)]
    if len(set(keys)) != len(keys):
        problems.append("OverrideParameters: lists a key twice")
    return problems


def _text_problems(name: str, value: str, limit: int) -> list[str]:
    if not value or value[0].isspace():
        return [f"{name}: must not be empty or start with whitespace"]
    if len(value) > limit:
        return [f"{name}: {len(value)} characters; at most {limit}"]
    return []


def _image_problems(images: list[str]) -> list[str]:
    if not 1 <= len(images) <= MAX_IMAGES:
        return [f"ContainerImages: {len(images)} images; 1 to {MAX_IMAGES}"]
    problems = []
    for image in images:
        if len(image) > MAX_IMAGE_URI:
            problems.append(f"ContainerImages: {image[:60]}... is over {MAX_IMAGE_URI} characters")
        elif not IMAGE.match(image):
            problems.append(
                f"ContainerImages: {image!r} is not <seller prefix>/<repository>:<tag> in the "
                f"Marketplace registry {REGISTRY}"
            )
        elif image.rsplit(":", 1)[1] == "latest":
            problems.append(f"ContainerImages: {image!r}: Marketplace rejects the 'latest' tag")
    if len(set(images)) != len(images):
        problems.append("ContainerImages: lists an image twice")
    return problems


def _service_problems(
    services: list[str],
    allowed: Sequence[str] = COMPATIBLE_SERVICES,
    most: int = MAX_SERVICES,
) -> list[str]:
    if not 1 <= len(services) <= most:
        return [f"CompatibleServices: {len(services)} services; 1 to {most}"]
    problems = [
        f"CompatibleServices: {service!r} is not one of {', '.join(allowed)}"
        for service in services
        if service not in allowed
    ]
    if len(set(services)) != len(services):
        problems.append("CompatibleServices: lists a service twice")
    return problems


def client_token(product_id: str, version: str, attempt: int = 1) -> str:
    """The StartChangeSet ClientRequestToken (64 hex characters): the same for the same product
    and version, so a retried publication cannot add the version twice. `attempt` > 1 gives a
    new token, to try again after a change set failed."""
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, not {attempt}")
    seed = f"pipelinegen:{product_id}:{version}" + (f":{attempt}" if attempt > 1 else "")
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def change_set_name(product_id: str, version: str) -> str:
    """A ChangeSetName (at most 100 of letters, digits, whitespace and `_+=.:@-`)."""
    return CHANGE_SET_NAME_UNSAFE.sub("-", f"pipelinegen {product_id} {version}")[:100]


def start(
    changeset_file: Path,
    *,
    name: str,
    token: str,
    run: Runner,
    sleep: Sleep,
    log: Log,
    attempts: int = 6,
    delay: float = 60.0,
    max_delay: float = 600.0,
) -> str:
    """Start the change set and return its ID, retrying (with exponential backoff, at most
    `attempts` times) while another change set holds the product or the API is throttling."""
    args = [
        "marketplace-catalog",
        "start-change-set",
        "--region",
        REGION,
        "--catalog",
        CATALOG,
        "--change-set",
        f"file://{changeset_file}",
        "--change-set-name",
        name,
        "--client-request-token",
        token,
    ]
    for attempt in range(1, attempts + 1):
        try:
            response = run(args)
        except AwsError as error:
            if error.code not in RETRY_START or attempt == attempts:
                raise
            log(f"{error}; trying again in {delay:.0f} s ({attempt}/{attempts - 1})")
            sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        change_set_id = response.get("ChangeSetId") if isinstance(response, dict) else None
        if not isinstance(change_set_id, str) or not change_set_id:
            raise AwsError("", f"StartChangeSet returned no ChangeSetId: {response!r}")
        return change_set_id
    raise AssertionError("unreachable")  # pragma: no cover


def describer(run: Runner) -> Callable[[str], Any]:
    """DescribeChangeSet through `run`."""

    def describe(change_set_id: str) -> Any:
        return run(
            [
                "marketplace-catalog",
                "describe-change-set",
                "--region",
                REGION,
                "--catalog",
                CATALOG,
                "--change-set-id",
                change_set_id,
            ]
        )

    return describe


def wait(
    change_set_id: str,
    describe: Callable[[str], Any],
    sleep: Sleep,
    timeout: float,
    *,
    interval: float = 60.0,
    clock: Clock = time.monotonic,
    log: Log = lambda _: None,
) -> Outcome:
    """Poll DescribeChangeSet until the change set ends or `timeout` seconds have passed."""
    deadline = clock() + timeout
    status = ""
    while True:
        try:
            response = describe(change_set_id)
        except AwsError as error:
            if error.code not in RETRY_DESCRIBE:
                raise
            log(f"{error}; asking again")
            response = None
        if isinstance(response, dict):
            if response.get("Status") != status:
                status = str(response.get("Status"))
                log(f"change set {change_set_id}: {status}")
            if status in FINAL:
                return _outcome(change_set_id, response)
        remaining = deadline - clock()
        if remaining <= 0:
            return Outcome("TIMEOUT", change_set_id, failure_description=f"still {status}")
        sleep(min(interval, remaining))


def _outcome(change_set_id: str, response: dict[str, Any]) -> Outcome:
    errors = []
    for change in response.get("ChangeSet") or []:
        for detail in change.get("ErrorDetailList") or []:
            errors.append(f"{detail.get('ErrorCode', '?')}: {detail.get('ErrorMessage', '')}")
    return Outcome(
        status=str(response["Status"]),
        change_set_id=change_set_id,
        failure_code=str(response.get("FailureCode") or ""),
        failure_description=str(response.get("FailureDescription") or ""),
        errors=errors,
    )


def list_change_sets(run: Runner, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    """ListChangeSets with `filters` (name → values; Filter names EntityId, ChangeSetName,
    Status: AWS Marketplace Catalog API reference, ListChangeSets); the CLI reads every page."""
    response = run(
        [
            "marketplace-catalog",
            "list-change-sets",
            "--region",
            REGION,
            "--catalog",
            CATALOG,
            "--filter-list",
            json.dumps([{"Name": name, "ValueList": values} for name, values in filters.items()]),
        ]
    )
    found = response.get("ChangeSetSummaryList") if isinstance(response, dict) else None
    return [item for item in found or [] if isinstance(item, dict) and item.get("ChangeSetId")]


def wait_for_others(
    product_id: str,
    *,
    name: str,
    run: Runner,
    sleep: Sleep,
    clock: Clock,
    timeout: float,
    interval: float,
    log: Log,
) -> list[str]:
    """Wait, at most `timeout` seconds in all, until no change set but ours (`name`) is
    PREPARING or APPLYING on the product: another one (a previous version's scan that outlived
    its wait, an edit in the portal) locks it, and StartChangeSet would answer
    ResourceInUseException. The IDs of those still running at the deadline ([] when none)."""
    deadline = clock() + timeout
    while True:
        active = list_change_sets(run, {"EntityId": [product_id], "Status": list(ACTIVE)})
        others = [c["ChangeSetId"] for c in active if c.get("ChangeSetName") != name]
        remaining = deadline - clock()
        if not others or remaining <= 0:
            return others
        log(f"{product_id} is held by change set(s) {', '.join(others)}; waiting for them")
        sleep(min(interval, remaining))


def ours(product_id: str, name: str, run: Runner) -> dict[str, Any] | None:
    """The change set a previous run started for this release (by its deterministic name)
    that is still running or has succeeded: the one to resume rather than start again."""
    found = list_change_sets(run, {"EntityId": [product_id], "ChangeSetName": [name]})
    live = [c for c in found if c.get("Status") in (*ACTIVE, "SUCCEEDED")]
    return max(live, key=lambda c: str(c.get("StartTime", "")), default=None)


def publish(
    changeset_file: Path,
    *,
    product_id: str,
    version: str,
    attempt: int,
    timeout: float,
    interval: float,
    retry_delay: float = 60.0,
    busy_timeout: float = BUSY_TIMEOUT,
    run: Runner,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    log: Log,
) -> Outcome:
    """Resume the change set a previous run started for this release, or wait (at most
    `busy_timeout` seconds) until no other change set holds the product and start it; then
    wait for it (at most `timeout` seconds)."""
    name = change_set_name(product_id, version)
    resumed = ours(product_id, name, run)
    if resumed is not None:
        change_set_id = str(resumed["ChangeSetId"])
        log(f"resuming change set {change_set_id} ({resumed.get('Status')}), started before")
        return wait(
            change_set_id, describer(run), sleep, timeout, interval=interval, clock=clock, log=log
        )
    others = wait_for_others(
        product_id,
        name=name,
        run=run,
        sleep=sleep,
        clock=clock,
        timeout=busy_timeout,
        interval=interval,
        log=log,
    )
    if others:
        return Outcome("BUSY", others[0], failure_description=f"{len(others)} change set(s)")
    change_set_id = start(
        changeset_file,
        name=name,
        token=client_token(product_id, version, attempt),
        run=run,
        sleep=sleep,
        log=log,
        delay=retry_delay,
    )
    log(f"started change set {change_set_id} for {product_id} {version}")
    return wait(
        change_set_id,
        describer(run),
        sleep,
        timeout,
        interval=interval,
        clock=clock,
        log=log,
    )


def report(outcome: Outcome, *, attempt: int) -> list[str]:
    """What to print about an outcome that is not a success, ending with an `error:` line."""
    lines = []
    if outcome.status not in ("TIMEOUT", "BUSY") and (
        outcome.failure_code or outcome.failure_description
    ):
        lines.append(f"{outcome.failure_code or outcome.status}: {outcome.failure_description}")
    lines.extend(f"  {error}" for error in outcome.errors)
    follow = (
        "aws marketplace-catalog describe-change-set --region us-east-1 --catalog "
        f"AWSMarketplace --change-set-id {outcome.change_set_id}"
    )
    if outcome.status == "BUSY":
        lines.append(
            f"error: change set {outcome.change_set_id} (of {outcome.failure_description} on "
            "the product) still holds it: nothing was started; follow it with "
            f"`{follow}`, then run this stage again"
        )
    elif outcome.status == "TIMEOUT":
        lines.append(
            f"error: change set {outcome.change_set_id} has not finished "
            f"({outcome.failure_description}); it goes on in AWS Marketplace: follow it with "
            f"`{follow}`; running this stage again resumes it"
        )
    else:
        lines.append(
            f"error: change set {outcome.change_set_id} {outcome.status}; fix what the errors "
            f"above say, then publish again with CHANGE_SET_ATTEMPT={attempt + 1} (a new "
            "client request token) or release a new version"
        )
    return lines


def run_aws(args: Sequence[str]) -> Any:
    """Run `aws <args> --output json` and return its parsed output, or raise AwsError."""
    result = subprocess.run(
        ["aws", *args, "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**RETRY_ENV, **os.environ},
    )
    if result.returncode != 0:
        raise AwsError.from_stderr(result.stderr, result.returncode)
    return json.loads(result.stdout) if result.stdout.strip() else {}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None, *, run: Runner = run_aws) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    changeset = commands.add_parser("changeset", help="write the change set JSON to stdout")
    changeset.add_argument("--product-id", required=True)
    changeset.add_argument("--version", required=True)
    changeset.add_argument("--title", required=True, help="the delivery option title")
    changeset.add_argument("--release-notes", default="", help="default: Release <version>")
    changeset.add_argument("--image", action="append", default=[], help="repeat per image")
    changeset.add_argument("--compatible-services", required=True, help="comma-separated")
    changeset.add_argument("--usage-instructions-file", required=True, type=Path)
    changeset.add_argument("--description", default="", help="default: the title")
    changeset.add_argument(
        "--delivery-options",
        default="container-images",
        help="comma-separated: container-images, helm (default: container-images)",
    )
    changeset.add_argument(
        "--pipeline", type=Path, help="pipeline.json, whose marketplace.helm sets the Helm option"
    )
    changeset.add_argument("--helm-chart-uri", help="the pushed chart, <registry>/<repo>:<version>")
    token = commands.add_parser("token", help="print the client request token")
    token.add_argument("--product-id", required=True)
    token.add_argument("--version", required=True)
    token.add_argument("--attempt", type=int, default=1)
    publish_ = commands.add_parser("publish", help="start the change set and wait for it")
    publish_.add_argument("--changeset", required=True, type=Path)
    publish_.add_argument("--product-id", required=True)
    publish_.add_argument("--version", required=True)
    publish_.add_argument("--attempt", type=int, default=1)
    publish_.add_argument("--timeout", type=float, default=7200.0, help="seconds")
    publish_.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    publish_.add_argument(
        "--retry-delay", type=float, default=60.0, help="first wait while the product is busy"
    )
    publish_.add_argument(
        "--busy-timeout",
        type=float,
        default=BUSY_TIMEOUT,
        help="seconds to wait for other change sets on the product",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "changeset":
            try:
                usage = args.usage_instructions_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                raise ChangeSetError(f"usage instructions: cannot read: {error}") from None
            services = [s.strip() for s in args.compatible_services.split(",") if s.strip()]
            options = [s.strip() for s in args.delivery_options.split(",") if s.strip()]
            helm = None
            if "helm" in options:
                if args.pipeline is None:
                    raise ChangeSetError("the Helm delivery option needs --pipeline")
                try:
                    pipeline = json.loads(args.pipeline.read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    raise ChangeSetError(f"pipeline.json: cannot read: {error}") from None
                helm = (pipeline.get("marketplace") or {}).get("helm")
                if not isinstance(helm, dict):
                    raise ChangeSetError(
                        "pipeline.json has no marketplace.helm: compile again with 'helm' in "
                        "marketplace.delivery_options"
                    )
            changes = build_changeset(
                product_id=args.product_id,
                version=args.version,
                release_notes=args.release_notes or f"Release {args.version}",
                title=args.title,
                images=args.image,
                compatible_services=services,
                usage_instructions=usage,
                description=args.description or None,
                delivery_options=options,
                helm=helm,
                helm_chart_uri=args.helm_chart_uri,
            )
            print(json.dumps(changes, indent=2))
        elif args.command == "token":
            print(client_token(args.product_id, args.version, args.attempt))
        else:
            if args.attempt < 1:
                raise ValueError(f"--attempt must be 1 or more, not {args.attempt}")
            outcome = publish(
                args.changeset,
                product_id=args.product_id,
                version=args.version,
                attempt=args.attempt,
                timeout=args.timeout,
                interval=args.interval,
                retry_delay=args.retry_delay,
                busy_timeout=args.busy_timeout,
                run=run,
                log=_stderr,
            )
            if not outcome.succeeded:
                for line in report(outcome, attempt=args.attempt):
                    _stderr(line)
                return 1
            print(f"change set {outcome.change_set_id} SUCCEEDED: {args.version} is published")
    except ChangeSetError as error:
        for line in str(error).splitlines():
            _stderr(f"error: change set: {line}")
        return 1
    except (AwsError, ValueError) as error:
        _stderr(f"error: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A stand-in for the AWS Marketplace Catalog API (moto has none), strict about what it accepts.

Every request is checked against what AWS publishes rather than a hand-written shape: the
envelope (StartChangeSet, DescribeChangeSet, ListChangeSets) with botocore's own
`marketplace-catalog` service model and its parameter validation, and each AddDeliveryOptions
DetailsDocument with add_delivery_options.schema.json: AWS's Catalog API reference, "Work with
container-based products using the AWS Marketplace APIs" > "Add a new version"
(https://docs.aws.amazon.com/marketplace/latest/APIReference/work-with-container-products.html#container-add-version),
with the fields and limits of AWS's ContainerProduct@1.0 change-type shapes (the schema's
$comment names them). Each delivery option's details type is one `$defs` entry there
(`EcrDeliveryOptionDetails` → ecr, `HelmDeliveryOptionDetails` → helm).
A change set is also checked the way Marketplace would start its work: each listed image tag
must be in the (stand-in) Marketplace registry; its digest is recorded. A valid change set
SUCCEEDS at once; the same ClientRequestToken returns the same change set, as in AWS.

    python catalog.py PORT REQUESTS_JSONL CA_FILE

Each request is appended to REQUESTS_JSONL: {"operation", "params", "errors", "images"}.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import botocore.session  # type: ignore[import-untyped,unused-ignore]
import jsonschema
from botocore.validate import ParamValidator  # type: ignore[import-untyped,unused-ignore]

SCHEMA = json.loads(Path(__file__).with_name("add_delivery_options.schema.json").read_text())
ACCEPT = ",".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class Catalog:
    def __init__(self, log: Path, ca: str) -> None:
        self.log = log
        self.tls = ssl.create_default_context(cafile=ca)
        self.model = botocore.session.get_session().get_service_model("marketplace-catalog")
        self.change_sets: dict[str, dict[str, Any]] = {}

    def params(self, operation: str, body: bytes, query: str) -> dict[str, Any]:
        """The request's parameters by member name, from its body and its query string."""
        shape = self.model.operation_model(operation).input_shape
        params: dict[str, Any] = json.loads(body) if body else {}
        for name, values in urllib.parse.parse_qs(query).items():
            member = next(
                (m for m, s in shape.members.items() if s.serialization.get("name") == name), name
            )
            params[member] = values[0]
        return params

    def call(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        shape = self.model.operation_model(operation).input_shape
        report = ParamValidator().validate(params, shape)
        errors = [report.generate_report()] if report.has_errors() else []
        images: dict[str, str] = {}
        if operation == "StartChangeSet" and not errors:
            for change in params["ChangeSet"]:
                errors.extend(self.details_errors(change))
                if change.get("ChangeType") == "AddDeliveryOptions" and not errors:
                    images.update(self.resolve(change["DetailsDocument"], errors))
        self.record(operation, params, errors, images)
        if errors:
            return 400, {"__type": "ValidationException", "Message": "; ".join(errors)}
        if operation == "StartChangeSet":
            return 200, self.start(params)
        if operation == "ListChangeSets":
            return 200, {"ChangeSetSummaryList": self.listed(params.get("FilterList", []))}
        if operation == "DescribeChangeSet":
            found = self.change_sets.get(params["ChangeSetId"])
            if found is None:
                return 404, {"__type": "ResourceNotFoundException", "Message": "no such change set"}
            return 200, found
        return 400, {"__type": "ValidationException", "Message": f"{operation} not served here"}

    def listed(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """ListChangeSets: the change sets that match every filter (EntityId, ChangeSetName,
        Status; a filter matches when any of its values does)."""

        def values(found: dict[str, Any], name: str) -> list[str]:
            if name == "EntityId":
                return [c["Entity"]["Identifier"] for c in found["ChangeSet"]]
            return [str(found.get(name, ""))]

        return [
            {key: found[key] for key in ("ChangeSetId", "ChangeSetArn", "ChangeSetName", "Status")}
            | {"EntityIdList": values(found, "EntityId")}
            for found in self.change_sets.values()
            if all(set(values(found, f["Name"])) & set(f["ValueList"]) for f in filters)
        ]

    def details_errors(self, change: dict[str, Any]) -> list[str]:
        if change.get("ChangeType") != "AddDeliveryOptions":
            return [f"ChangeType {change.get('ChangeType')!r} is not served here"]
        if "Details" in change or "DetailsDocument" not in change:
            return ["AddDeliveryOptions: send DetailsDocument (not the legacy Details string)"]
        validator = jsonschema.Draft202012Validator(SCHEMA)
        return [
            f"DetailsDocument{''.join(f'[{p!r}]' for p in error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(change["DetailsDocument"])
        ]

    def resolve(self, document: dict[str, Any], errors: list[str]) -> dict[str, str]:
        """Each listed image, and a Helm option's chart (HelmChartUri), by tag, to the digest
        the Marketplace registry holds for it."""
        found = {}
        for option in document["DeliveryOptions"]:
            for details in option["Details"].values():
                listed = [("ContainerImages", image) for image in details["ContainerImages"]]
                if "HelmChartUri" in details:
                    listed.append(("HelmChartUri", details["HelmChartUri"]))
                for field, reference in listed:
                    host, _, rest = reference.partition("/")
                    repository, _, tag = rest.rpartition(":")
                    url = f"https://{host}/v2/{repository}/manifests/{tag}"
                    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
                    try:
                        with urllib.request.urlopen(request, context=self.tls, timeout=10) as r:
                            found[reference] = "sha256:" + hashlib.sha256(r.read()).hexdigest()
                    except OSError as error:
                        errors.append(f"{field}: {reference} cannot be read: {error}")
        return found

    def start(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params.get("ClientRequestToken") or json.dumps(params, sort_keys=True)
        change_set_id = "cs-" + hashlib.sha256(token.encode()).hexdigest()[:25]
        self.change_sets.setdefault(
            change_set_id,
            {
                "ChangeSetId": change_set_id,
                "ChangeSetArn": f"arn:aws:aws-marketplace:us-east-1:000000000000:"
                f"AWSMarketplace/ChangeSet/{change_set_id}",
                "ChangeSetName": params.get("ChangeSetName", ""),
                "Status": "SUCCEEDED",
                "ChangeSet": [
                    {
                        "ChangeType": c["ChangeType"],
                        "Entity": c["Entity"],
                        "DetailsDocument": c["DetailsDocument"],
                        "ErrorDetailList": [],
                    }
                    for c in params["ChangeSet"]
                ],
            },
        )
        found = self.change_sets[change_set_id]
        return {"ChangeSetId": change_set_id, "ChangeSetArn": found["ChangeSetArn"]}

    def record(
        self, operation: str, params: dict[str, Any], errors: list[str], images: dict[str, str]
    ) -> None:
        entry = {"operation": operation, "params": params, "errors": errors, "images": images}
        with self.log.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def main() -> None:
    port, log, ca = sys.argv[1:4]
    catalog = Catalog(Path(log), ca)

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            operation = url.path.strip("/")
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply: dict[str, Any] = {}
            status = 200  # readiness: no operation
            if operation:
                status, reply = catalog.call(operation, catalog.params(operation, body, url.query))
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status != 200:
                self.send_header("x-amzn-ErrorType", reply["__type"])
            self.end_headers()
            self.wfile.write(data)

        do_GET = answer
        do_POST = answer

    HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()

"""ECR's API and its registry are one service in AWS; here they are moto (the API) and Debian's
docker-registry (the registry). This server makes moto's ECR API see what the registry holds:
the registry's notifications (distribution's webhook, one POST per batch of events) name every
manifest pushed by tag, and each one is written to moto with ecr:PutImage, under the account of
the registry host's name and with the registry's own digest (moto would invent one).

    python bridge.py PORT EVENTS_JSONL MOTO_URL CA_FILE

Every manifest push by tag is appended to EVENTS_JSONL as
{"host", "repository", "tag", "digest", "media_type", "ecr": "put" | "exists" | "<error>"}.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]

MANIFEST_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
ECR_HOST = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


class Bridge:
    def __init__(self, events: Path, moto: str, ca: str) -> None:
        self.events = events
        self.moto = moto
        self.tls = ssl.create_default_context(cafile=ca)

    def handle(self, event: dict[str, Any]) -> None:
        target = event.get("target", {})
        if event.get("action") != "push" or not target.get("tag"):
            return
        if target.get("mediaType") not in MANIFEST_TYPES:
            return
        host = event.get("request", {}).get("host", "").split(":")[0]
        record = {
            "host": host,
            "repository": target["repository"],
            "tag": target["tag"],
            "digest": target["digest"],
            "media_type": target["mediaType"],
            "ecr": self.put(host, target),
        }
        with self.events.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def put(self, host: str, target: dict[str, Any]) -> str:
        found = ECR_HOST.match(host)
        if not found:
            return "not an ECR host"
        url = f"https://{host}/v2/{target['repository']}/manifests/{target['digest']}"
        request = urllib.request.Request(url, headers={"Accept": target["mediaType"]})
        with urllib.request.urlopen(request, context=self.tls, timeout=10) as response:
            manifest = response.read().decode()
        ecr = self.client(found["account"], found["region"])
        try:
            ecr.put_image(
                repositoryName=target["repository"],
                imageManifest=manifest,
                imageManifestMediaType=target["mediaType"],
                imageTag=target["tag"],
                imageDigest=target["digest"],
            )
        except ecr.exceptions.ImageAlreadyExistsException:
            return "exists"
        except Exception as error:  # recorded: the rehearsal reports it
            return f"{type(error).__name__}: {error}"
        return "put"

    def client(self, account: str, region: str) -> Any:
        """moto keeps one ECR per account: credentials of a role in the registry's account."""
        sts = boto3.client("sts", endpoint_url=self.moto, region_name=region)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/ecr-registry", RoleSessionName="registry"
        )["Credentials"]
        return boto3.client(
            "ecr",
            endpoint_url=self.moto,
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )


def main() -> None:
    port, events, moto, ca = sys.argv[1:5]
    bridge = Bridge(Path(events), moto, ca)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            for event in json.loads(body or b"{}").get("events", []):
                bridge.handle(event)
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:  # readiness
            self.send_response(200)
            self.end_headers()

    HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()

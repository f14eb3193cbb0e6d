#!/usr/bin/env python3
"""Mark in ECR what an environment runs, so that the repositories' lifecycle never expires it.

deploy.sh runs this after a successful deploy (Python 3.9+, standard library only; `aws` on PATH,
with credentials of the environment's deploy role), in the extracted release:

    python3 running.py mark --environment prod \\
        --registry 111111111111.dkr.ecr.us-east-1.amazonaws.com --prefix acme-platform

The repositories' tags are immutable, so a deploy cannot move a tag such as `prod` to what it
deployed. Instead it adds a new, unique tag to each image's index, `deployed-<environment>-<UTC
time of the deploy>` (ECR's "Retagging an image": BatchGetImage the manifest, PutImage it with
the new tag), and then removes the older marks of that environment, keeping those of the two
newest distinct images: the one it runs and the one before it, for a rollback. Removing a tag
from an image that has other tags removes the tag only (BatchDeleteImage: "When you remove the
last tag from an image, the image is deleted"), so a mark that is an image's only tag is never
removed. The repositories' lifecycle policy (stacks/registry.py) never expires an image that
carries a `deployed-*` tag, however many releases came after it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import release  # the release's own reader, beside this script

PREFIX = "deployed-"  # stacks/registry.py's lifecycle rule protects `deployed-*`
STAMP = "%Y%m%dT%H%M%SZ"
STAMP_RE = r"\d{8}T\d{6}Z"
UTC = datetime.timezone.utc  # noqa: UP017  (datetime.UTC is Python 3.11+; this runs on 3.9+)
KEEP = 2  # the image an environment runs, and the one before it
MEDIA_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]
# AWS CLI retries (AWS CLI User Guide, "AWS CLI retries"): standard mode, 10 attempts in all
# instead of the default 3, for throttled calls; a caller's own settings win.
RETRY_ENV = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "10"}

Runner = Callable[[Sequence[str]], Any]  # runs `aws <args>`, returns the parsed JSON output
Log = Callable[[str], None]


class AwsError(Exception):
    """An `aws` command that failed; `code` is the AWS error code when the CLI printed one."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def mark_tag(environment: str, now: datetime.datetime) -> str:
    """The tag that marks what `environment` runs since `now` (UTC): at most 128 characters of
    ECR's tag alphabet, sorting by time within an environment."""
    return f"{PREFIX}{environment}-{now.astimezone(UTC).strftime(STAMP)}"


def marks(environment: str, image_ids: list[dict[str, str]]) -> list[tuple[str, str]]:
    """The environment's marks in a repository as (tag, digest), newest first. Another
    environment whose name extends this one (`prod-eu` for `prod`) is not matched: the time
    must follow the name directly."""
    pattern = re.compile(re.escape(f"{PREFIX}{environment}-") + STAMP_RE)
    found = [
        (str(i["imageTag"]), str(i["imageDigest"]))
        for i in image_ids
        if pattern.fullmatch(str(i.get("imageTag", "")))
    ]
    return sorted(found, reverse=True)


def stale(environment: str, image_ids: list[dict[str, str]]) -> list[str]:
    """The environment's marks to remove: all but the newest mark of each of its KEEP newest
    distinct images, and never an image's only tag."""
    tags_of: dict[str, int] = {}
    for found in image_ids:
        if found.get("imageTag"):
            tags_of[found["imageDigest"]] = tags_of.get(found["imageDigest"], 0) + 1
    kept: set[str] = set()
    removed = []
    for tag, digest in marks(environment, image_ids):
        if digest not in kept and len(kept) < KEEP:
            kept.add(digest)
        elif tags_of[digest] > 1:
            removed.append(tag)
            tags_of[digest] -= 1
    return removed


def mark(
    *,
    repository: str,
    digest: str,
    environment: str,
    registry_id: str,
    region: str,
    now: datetime.datetime,
    run: Runner,
    log: Log,
) -> None:
    """Tag `digest` in `repository` as running in `environment`, then remove its stale marks."""
    where = ["--region", region, "--registry-id", registry_id, "--repository-name", repository]
    got = run(
        [
            "ecr",
            "batch-get-image",
            *where,
            "--image-ids",
            f"imageDigest={digest}",
            "--accepted-media-types",
            *MEDIA_TYPES,
        ]
    )
    images = got.get("images") if isinstance(got, dict) else None
    if not images:
        raise AwsError("", f"{repository}@{digest} is not in ECR: {got!r}")
    tag = mark_tag(environment, now)
    try:
        run(
            [
                "ecr",
                "put-image",
                *where,
                "--image-tag",
                tag,
                "--image-digest",
                digest,
                "--image-manifest",
                images[0]["imageManifest"],
                "--image-manifest-media-type",
                images[0]["imageManifestMediaType"],
            ]
        )
    except AwsError as error:  # a re-run within the same second: the mark is there already
        if error.code not in ("ImageAlreadyExistsException",):
            raise
    log(f"{repository}@{digest}: marked {tag}")
    listed = run(["ecr", "list-images", *where, "--filter", "tagStatus=TAGGED"])
    image_ids = listed.get("imageIds", []) if isinstance(listed, dict) else []
    removed = stale(environment, image_ids)
    for start in range(0, len(removed), 100):  # BatchDeleteImage takes 100 image IDs at most
        batch = removed[start : start + 100]
        run(["ecr", "batch-delete-image", *where, "--image-ids", *(f"imageTag={t}" for t in batch)])
    if removed:
        log(f"{repository}: removed {len(removed)} older mark(s) of {environment}")


def run_aws(args: Sequence[str]) -> Any:
    """Run `aws <args> --output json` with the retry settings; its parsed output, or AwsError."""
    env = {**RETRY_ENV, **os.environ}
    result = subprocess.run(
        ["aws", *args, "--output", "json"], capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        found = re.search(r"An error occurred \(([A-Za-z]+)\)", result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise AwsError(found[1] if found else "", lines[-1] if lines else "aws failed")
    return json.loads(result.stdout) if result.stdout.strip() else {}


def main(argv: list[str] | None = None, *, run: Runner = run_aws) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    marking = commands.add_parser("mark", help="mark the release's images as running")
    marking.add_argument("--environment", required=True)
    marking.add_argument("--registry", required=True, help="<account>.dkr.ecr.<region>.<suffix>")
    marking.add_argument("--prefix", required=True, help="the repositories' namespace")
    marking.add_argument("--release", type=Path, default=Path())
    args = parser.parse_args(argv)
    host = re.fullmatch(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?", args.registry)
    if not host or not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", args.environment):
        print(f"error: bad --registry or --environment: {args.registry} {args.environment}")
        return 1
    now = datetime.datetime.now(UTC)
    try:
        for image in release.images(release.load(args.release)):
            mark(
                repository=f"{args.prefix}/{image.name}",
                digest=image.digest,
                environment=args.environment,
                registry_id=host[1],
                region=host[2],
                now=now,
                run=run,
                log=lambda message: print(f"==> {message}", flush=True),
            )
    except (AwsError, release.ReleaseError) as error:
        print(
            f"error: deployed, but could not mark what {args.environment} runs in ECR: {error}; "
            "until a deploy marks it, the repositories' lifecycle may expire it: retry this stage",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

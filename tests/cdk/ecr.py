"""A stand-in for one ECR repository: its images, the calls the deploy's marking makes, and the
evaluation of a lifecycle policy, each written from AWS's documentation (moto evaluates no
lifecycle policy).

Images (ECR API Reference, ImageDetail / ImageIdentifier): one per manifest digest, with its
tags and the time it was pushed. A multi-platform release is an image index (tagged with the
release version) and one untagged image per platform manifest, plus untagged attestation
manifests where the build made them. Adding a tag to an image that is already there (PutImage
with its manifest) keeps its push time: lifecycle rules age images by their first push
(aws/containers-roadmap#2746).

Lifecycle evaluation (ECR User Guide, "Automate the cleanup of images by using lifecycle
policies" > "Lifecycle policy evaluation rules", and "Lifecycle policy properties"):
- rules are applied in `rulePriority` order, lowest first; priorities are unique; a rule with
  `tagStatus: any` must have the highest priority; only one rule may select untagged images;
- `tagStatus: tagged` needs `tagPatternList` or `tagPrefixList`, `untagged` neither; an image
  is selected by a pattern list when every pattern (with `*` wildcards) matches one of its tags,
  by a prefix list when every prefix starts one of its tags;
- `imageCountMoreThan`: the selected images sorted by push time, newest first; those beyond
  `countNumber` are expired; `sinceImagePushed`: those pushed more than `countNumber` days ago;
- an image is expired by exactly one or zero rules; an image that matches the tagging
  requirements of a higher-priority rule cannot be expired by a lower-priority rule, which
  still counts it as if it had not been expired.
Expiring deletes the image; ECR does not delete a manifest that an image index still in the
repository references (BatchDeleteImage failure code ImageReferencedByManifestList, ECR API
Reference, ImageFailure).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class EcrError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Image:
    digest: str
    media_type: str
    manifest: str
    pushed_at: datetime.datetime
    tags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)  # an index's manifests


@dataclass
class Repository:
    images: dict[str, Image] = field(default_factory=dict)

    def push(
        self,
        content: str,
        *,
        media_type: str,
        at: datetime.datetime,
        tag: str | None = None,
        references: Sequence[str] = (),
    ) -> str:
        digest = "sha256:" + hashlib.sha256(content.encode()).hexdigest()
        self.images[digest] = Image(digest, media_type, content, at, references=list(references))
        if tag:
            self.put_image(tag, digest, content)
        return digest

    def release(self, version: str, at: datetime.datetime, *, platforms: int = 2) -> str:
        """A multi-platform release as buildx pushes it: each platform's manifest, an
        attestation manifest for each, and the index tagged with the version."""
        children = []
        for platform in range(platforms):
            for kind in ("image", "attestation"):
                children.append(
                    self.push(f"{version}/{platform}/{kind}", media_type=MANIFEST, at=at)
                )
        index = json.dumps({"mediaType": INDEX, "manifests": children, "version": version})
        return self.push(index, media_type=INDEX, at=at, tag=version, references=children)

    def tagged(self, tag: str) -> Image | None:
        return next((i for i in self.images.values() if tag in i.tags), None)

    def put_image(self, tag: str, digest: str, manifest: str) -> None:
        """PutImage on a repository with immutable tags."""
        holder = self.tagged(tag)
        if holder is not None:
            code = "ImageAlreadyExists" if holder.digest == digest else "ImageTagAlreadyExists"
            raise EcrError(f"{code}Exception", f"tag {tag} exists")
        image = self.images.get(digest)
        if image is None or image.manifest != manifest:
            raise EcrError("ImageDigestDoesNotMatchException", digest)
        image.tags.add(tag)

    def delete_tag(self, tag: str) -> None:
        """BatchDeleteImage by tag: the tag goes; the image too when it was its last tag."""
        image = self.tagged(tag)
        if image is None:
            return
        image.tags.discard(tag)
        if not image.tags:
            self.delete(image.digest)

    def delete(self, digest: str) -> bool:
        """Delete an image unless an index still here references it."""
        if any(digest in i.references for i in self.images.values() if i.digest != digest):
            return False  # ImageReferencedByManifestList
        del self.images[digest]
        return True

    def apply(self, policy: dict[str, Any], now: datetime.datetime) -> set[str]:
        """Expire what `policy` selects; the digests that were deleted. Indexes go first, so
        their manifests can go in the same run when a rule expires them too."""
        expired = evaluate(policy, list(self.images.values()), now)
        order = sorted(expired, key=lambda d: self.images[d].media_type != INDEX)
        return {digest for digest in order if self.delete(digest)}


def _matches(pattern: str, tag: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), tag) is not None


def selects(selection: dict[str, Any], image: Image) -> bool:
    """Whether `selection` matches the image's tagging requirements."""
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "any":
        return True
    patterns = selection.get("tagPatternList", [])
    prefixes = selection.get("tagPrefixList", [])
    return bool(image.tags) and (
        all(any(_matches(p, t) for t in image.tags) for p in patterns)
        and all(any(t.startswith(p) for t in image.tags) for p in prefixes)
    )


def check(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The rules in evaluation order; ValueError where ECR would refuse the policy."""
    rules = sorted(policy["rules"], key=lambda r: r["rulePriority"])
    if len({r["rulePriority"] for r in rules}) != len(rules):
        raise ValueError("rulePriority values must be unique")
    if any(r["selection"]["tagStatus"] == "any" for r in rules[:-1]):
        raise ValueError("a rule with tagStatus any must have the highest priority")
    if sum(r["selection"]["tagStatus"] == "untagged" for r in rules) > 1:
        raise ValueError("only one rule may select untagged images")
    for rule in rules:
        selection = rule["selection"]
        lists = "tagPatternList" in selection or "tagPrefixList" in selection
        if (selection["tagStatus"] == "tagged") != lists:
            raise ValueError("tagged needs tagPatternList or tagPrefixList; others neither")
        if any(p.count("*") > 4 for p in selection.get("tagPatternList", [])):
            raise ValueError("at most four wildcards per tag pattern")
    return rules


def evaluate(policy: dict[str, Any], images: list[Image], now: datetime.datetime) -> set[str]:
    """The digests the policy expires."""
    claimed: set[str] = set()
    expired: set[str] = set()
    for rule in check(policy):
        selection = rule["selection"]
        selected = sorted(
            (i for i in images if selects(selection, i)),
            key=lambda i: i.pushed_at,
            reverse=True,
        )
        if selection["countType"] == "imageCountMoreThan":
            beyond = selected[selection["countNumber"] :]
        else:
            assert selection["countType"] == "sinceImagePushed"
            assert selection["countUnit"] == "days"
            age = datetime.timedelta(days=selection["countNumber"])
            beyond = [i for i in selected if now - i.pushed_at > age]
        expired |= {i.digest for i in beyond if i.digest not in claimed}
        claimed |= {i.digest for i in selected}
    return expired


@dataclass
class Registry:
    """`aws ecr ...` as the deploy's marking calls it, answered from repositories by name."""

    repositories: dict[str, Repository]
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, args: Sequence[str]) -> Any:
        args = list(args)
        self.calls.append(args)
        repository = self.repositories[_option(args, "--repository-name")]
        command = args[1]
        if command == "batch-get-image":
            digest = _option(args, "--image-ids").removeprefix("imageDigest=")
            image = repository.images.get(digest)
            if image is None:
                return {"images": [], "failures": [{"failureCode": "ImageNotFound"}]}
            return {
                "images": [
                    {
                        "imageId": {"imageDigest": digest},
                        "imageManifest": image.manifest,
                        "imageManifestMediaType": image.media_type,
                    }
                ]
            }
        if command == "put-image":
            try:
                repository.put_image(
                    _option(args, "--image-tag"),
                    _option(args, "--image-digest"),
                    _option(args, "--image-manifest"),
                )
            except EcrError as error:
                from_script = _script_error()
                raise from_script(error.code, str(error)) from None
            return {}
        if command == "list-images":
            assert _option(args, "--filter") == "tagStatus=TAGGED"
            return {
                "imageIds": [
                    {"imageDigest": i.digest, "imageTag": t}
                    for i in repository.images.values()
                    for t in sorted(i.tags)
                ]
            }
        if command == "batch-delete-image":
            start = args.index("--image-ids") + 1
            for item in args[start:]:
                repository.delete_tag(item.removeprefix("imageTag="))
            return {"imageIds": [], "failures": []}
        raise AssertionError(f"unexpected call {args}")


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _script_error() -> Any:
    """running.py's AwsError (loaded by the tests as a module)."""
    import sys

    return sys.modules["pipelinegen_cdk_running"].AwsError

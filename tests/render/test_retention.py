"""What the synthesized app keeps and lets go: ECR lifecycle policies applied by the ECR stand-in
(tests/cdk/ecr.py, written from ECR's documented evaluation rules) to a repository whose
production lags staging by many releases, with the marks deploys make (running.py); the
buckets' lifecycle rules; and the registry's scanning, when the spec owns it."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cdk.ecr import Registry, Repository, evaluate
from tests.cdk.test_running import running
from tests.render.conftest import delivery, spec_texts
from tests.render.test_cdk_app import SPECS, resources

START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)  # noqa: UP017
RELEASES = 320  # one a day
PROD_EVERY = 70  # production takes every 70th release: it runs release 280, and ran 210


def templates(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.template.json"))]


def policies(out: Path) -> list[dict[str, Any]]:
    return [
        json.loads(r["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
        for t in templates(out)
        for r in resources(t, "AWS::ECR::Repository")
    ]


def day(n: int) -> datetime.datetime:
    return START + datetime.timedelta(days=n)


def history() -> tuple[Repository, dict[str, str]]:
    """320 multi-platform releases (index + 2 platform manifests + 2 attestations each), staging
    deploying each the day it is released, production every 70th; deploys mark what they run."""
    repository = Repository()
    registry = Registry({"app": repository})
    digests = {}
    for n in range(1, RELEASES + 1):
        digests[f"v1.{n}"] = repository.release(f"v1.{n}", day(n))
        environments = ["staging", "prod"] if n % PROD_EVERY == 0 else ["staging"]
        for environment in environments:
            running.mark(
                repository="app",
                digest=digests[f"v1.{n}"],
                environment=environment,
                registry_id="111111111111",
                region="us-east-1",
                now=day(n) + datetime.timedelta(hours=2),
                run=registry,
                log=lambda _: None,
            )
    return repository, digests


def whole(repository: Repository, digest: str) -> bool:
    """The release is pullable: its index and every manifest it references are there."""
    index = repository.images.get(digest)
    return index is not None and all(child in repository.images for child in index.references)


@pytest.mark.parametrize("name", SPECS)
def test_ecr_keeps_releases_by_count_and_never_what_runs(
    synthesized: dict[str, Path], name: str
) -> None:
    found = policies(synthesized[name])
    assert found and all(p == found[0] for p in found)
    repository, digests = history()
    assert len(repository.images) == RELEASES * 5  # a release is five images, not one
    for evaluation in range(3):  # ECR evaluates daily; three runs change nothing more
        repository.apply(found[0], day(RELEASES + 1 + evaluation))
    kept = {version for version, digest in digests.items() if whole(repository, digest)}
    newest = {f"v1.{n}" for n in range(RELEASES - 199, RELEASES + 1)}
    assert newest <= kept  # the last 200 releases, whole: counted by release, not by manifest
    assert {"v1.280", "v1.210"} <= kept  # what production runs, and ran before
    assert kept == newest | {"v1.280", "v1.210"}  # the rest expired...
    orphans = [
        image
        for image in repository.images.values()
        if not image.tags
        and not any(image.digest in i.references for i in repository.images.values())
    ]
    assert orphans == []  # ...with what they referenced


def test_the_old_rules_expired_what_production_runs() -> None:
    """The rules this replaces ("keep the last 200 images" of any kind, untagged after 14
    days): about 40 five-image releases kept, production's running image expired."""
    old = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 14,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 200,
                },
                "action": {"type": "expire"},
            },
        ]
    }
    repository, digests = history()
    expired = evaluate(old, list(repository.images.values()), day(RELEASES + 1))
    assert digests["v1.280"] in expired
    assert sum(d not in expired for d in digests.values()) <= 40


@pytest.mark.parametrize("name", SPECS)
def test_every_bucket_aborts_uploads_and_keeps_versions_for_rollback(
    synthesized: dict[str, Path], name: str
) -> None:
    buckets = [r for t in templates(synthesized[name]) for r in resources(t, "AWS::S3::Bucket")]
    assert buckets or delivery(spec_texts()[name]) == "github"  # which has no bucket
    for bucket in buckets:
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        everything = [r for r in rules if r["Status"] == "Enabled" and "Prefix" not in r]
        assert any(
            r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] <= 7 for r in everything
        )
        assert any(
            r["NoncurrentVersionExpiration"]
            == {"NewerNoncurrentVersions": 100, "NoncurrentDays": 90}
            for r in everything
        )


@pytest.mark.parametrize("name", SPECS)
def test_registry_scanning_only_when_the_spec_owns_it(
    synthesized: dict[str, Path], name: str
) -> None:
    found = templates(synthesized[name])
    scanning = [r for t in found for r in resources(t, "AWS::ECR::RegistryScanningConfiguration")]
    repositories = [r for t in found for r in resources(t, "AWS::ECR::Repository")]
    if name.startswith("spec-tricky"):  # aws.registry_scanning: enhanced
        assert [r["Properties"] for r in scanning] == [
            {
                "ScanType": "ENHANCED",
                "Rules": [
                    {
                        "ScanFrequency": "SCAN_ON_PUSH",
                        "RepositoryFilters": [{"Filter": "tricky/*", "FilterType": "WILDCARD"}],
                    }
                ],
            }
        ]
        assert all("ImageScanningConfiguration" not in r["Properties"] for r in repositories)
    else:  # the account's configuration is left alone; each repository asks for scan on push
        assert scanning == []
        assert all(
            r["Properties"]["ImageScanningConfiguration"]["ScanOnPush"] for r in repositories
        )

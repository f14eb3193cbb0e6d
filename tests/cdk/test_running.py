"""running.py: a deploy marks what its environment runs with a unique, immutable tag and drops
its older marks, keeping the image it runs and the one before it; against the ECR stand-in."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest

from tests.cdk.conftest import SCRIPTS
from tests.cdk.ecr import INDEX, MANIFEST, Image, Registry, Repository

sys.path.insert(0, str(SCRIPTS))  # running.py imports release.py, its sibling
from tests.cdk.test_marketplace import _load

running = _load("running")
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)  # noqa: UP017
REPOSITORY = "acme/api"


def deploy(registry: Registry, environment: str, digest: str, day: int) -> None:
    running.mark(
        repository=REPOSITORY,
        digest=digest,
        environment=environment,
        registry_id="111111111111",
        region="us-east-1",
        now=START + datetime.timedelta(days=day, hours=1),
        run=registry,
        log=lambda _: None,
    )


def marks(repository: Repository, environment: str) -> dict[str, set[str]]:
    """Each image (by its release tag) that carries a mark of `environment`, with those marks."""
    found: dict[str, set[str]] = {}
    for image in repository.images.values():
        own = {t for t in image.tags if t.startswith(f"deployed-{environment}-2")}
        if own:
            (release,) = {t for t in image.tags if t.startswith("v")}
            found[release] = own
    return found


@pytest.fixture
def world() -> tuple[Repository, Registry, list[str]]:
    repository = Repository()
    releases = [
        repository.release(f"v1.0.{n}", START + datetime.timedelta(days=n)) for n in range(6)
    ]
    return repository, Registry({REPOSITORY: repository}), releases


def test_a_deploy_keeps_the_marks_of_what_runs_and_what_ran_before(
    world: tuple[Repository, Registry, list[str]],
) -> None:
    repository, registry, releases = world
    for day, n in enumerate([0, 1, 2, 3]):
        deploy(registry, "prod", releases[n], day)
    assert set(marks(repository, "prod")) == {"v1.0.2", "v1.0.3"}
    # A redeploy of what runs keeps the image before it: two distinct images.
    deploy(registry, "prod", releases[3], 5)
    assert set(marks(repository, "prod")) == {"v1.0.2", "v1.0.3"}
    assert len(marks(repository, "prod")["v1.0.3"]) == 1  # only the newest mark of it
    # A rollback to an older release: it runs, and what ran before it stays marked.
    deploy(registry, "prod", releases[1], 6)
    assert set(marks(repository, "prod")) == {"v1.0.1", "v1.0.3"}


def test_environments_keep_their_own_marks(
    world: tuple[Repository, Registry, list[str]],
) -> None:
    repository, registry, releases = world
    deploy(registry, "prod", releases[0], 0)
    deploy(registry, "prod-eu", releases[1], 0)  # a name that extends another
    for day, n in enumerate(range(2, 6), start=1):
        deploy(registry, "prod-eu", releases[n], day)
        deploy(registry, "staging", releases[n], day)
    assert set(marks(repository, "prod")) == {"v1.0.0"}
    assert set(marks(repository, "prod-eu")) == {"v1.0.4", "v1.0.5"}
    assert set(marks(repository, "staging")) == {"v1.0.4", "v1.0.5"}
    assert all(repository.images[r].tags for r in releases)  # every release tag is still there


def test_a_mark_that_is_an_images_only_tag_is_never_removed() -> None:
    repository = Repository()
    registry = Registry({REPOSITORY: repository})
    lone = repository.push("lone", media_type=MANIFEST, at=START)
    deploy(registry, "prod", lone, 0)
    for n in range(3):
        digest = repository.release(f"v2.{n}", START)
        deploy(registry, "prod", digest, n + 1)
    assert lone in repository.images  # removing its mark would have deleted the image


def test_the_same_deploy_twice_in_a_second_is_not_an_error(
    world: tuple[Repository, Registry, list[str]],
) -> None:
    _, registry, releases = world
    deploy(registry, "prod", releases[0], 0)
    deploy(registry, "prod", releases[0], 0)


def test_an_image_that_is_not_in_ecr_fails_the_mark(
    world: tuple[Repository, Registry, list[str]],
) -> None:
    _, registry, _ = world
    with pytest.raises(running.AwsError, match="is not in ECR"):
        deploy(registry, "prod", "sha256:" + "0" * 64, 0)


def test_the_tag_fits_ecr_and_sorts_by_time() -> None:
    tags = [running.mark_tag("a" * 32, START + datetime.timedelta(seconds=s)) for s in (9, 10)]
    assert all(
        len(t) <= 128 and set(t) <= set("abcdefghijklmnopqrstuvwxyz0123456789TZ-") for t in tags
    )
    assert sorted(tags) == tags


def test_main_marks_each_image_of_the_release(release: Path) -> None:
    repositories = {}
    manifest = json.loads((release / "manifest.json").read_text())
    for image in manifest["images"]:
        repository = Repository()
        repository.images[image["digest"]] = Image(image["digest"], INDEX, "{}", START, {"v1.2.3"})
        repositories[f"acme-platform/{image['name']}"] = repository
    registry = Registry(repositories)
    argv = [
        "mark",
        "--environment",
        "staging",
        "--registry",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com",
        "--prefix",
        "acme-platform",
        "--release",
        str(release),
    ]
    assert running.main(argv, run=registry) == 0
    for repository in repositories.values():
        (image,) = repository.images.values()
        assert any(t.startswith("deployed-staging-") for t in image.tags)
    assert all("--registry-id" in call and "us-east-1" in call for call in registry.calls)

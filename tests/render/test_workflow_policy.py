"""Our own hardening policy, checked on every compiled workflow (beyond what the linters ask)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen import naming
from pipelinegen.render.github.actions import ACTIONS

USES = re.compile(r"uses: (?P<repo>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\S+)$")


def workflows(compiled: dict[str, Path]) -> list[Path]:
    return sorted(p for root in compiled.values() for p in root.glob(".github/workflows/*.yml"))


# The release's call of the CI workflow at its own commit: GitHub.com's self-repository form, or
# on GitHub Enterprise Server `./` with the linter's finding ignored and why.
SELF_CALLS = {
    f"    uses: $/{naming.CI_WORKFLOW}",
    f'    uses: "./{naming.CI_WORKFLOW}" # zizmor: ignore[self-repository] GitHub Enterprise '
    "Server has no $/ syntax",
}


def load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_every_action_is_pinned_from_the_vetted_table(compiled: dict[str, Path]) -> None:
    for path in workflows(compiled):
        for line in path.read_text().splitlines():
            if line in SELF_CALLS:
                continue  # the release calls CI at its own commit ($/, or ./ on GHES)
            if "uses:" in line:
                match = USES.search(line)
                assert match, f"{path}: {line}"
                pin = ACTIONS[match["repo"]]
                assert (match["sha"], match["version"]) == (pin.sha, pin.version), line


def test_jobs_are_named_bounded_and_least_privileged(compiled: dict[str, Path]) -> None:
    for path in workflows(compiled):
        workflow = load(path)
        assert workflow["permissions"] == {}, path
        assert workflow["name"] and workflow["concurrency"]["group"]
        for job_id, job in workflow["jobs"].items():
            assert job["name"] == job_id
            if "uses" in job:  # a reusable workflow: its own jobs are checked where they live
                assert job["uses"] in (f"$/{naming.CI_WORKFLOW}", f"./{naming.CI_WORKFLOW}"), path
                continue
            assert 1 <= job["timeout-minutes"] <= 360
            assert job["runs-on"].startswith("ubuntu-")
            writes = {k for k, v in job["permissions"].items() if v == "write"}
            allowed = {
                naming.RELEASE_WORKFLOW: {"id-token"},  # the OIDC upload
                naming.PR_WORKFLOW: {"pull-requests"},  # the sticky comment
            }
            workflow_path = f"{naming.WORKFLOWS_DIR}/{path.name}"
            assert writes <= allowed.get(workflow_path, set()), (path, job_id)


def test_no_expressions_in_scripts_and_no_persisted_credentials(
    compiled: dict[str, Path],
) -> None:
    for path in workflows(compiled):
        for job in load(path)["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), (path, step)
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ["example-full", "spec-tricky"])
def test_release_is_serial_uncached_and_uploads_to_the_fixed_key(
    compiled: dict[str, Path], name: str
) -> None:
    release = load(compiled[name] / naming.RELEASE_WORKFLOW)
    # Every release waits its turn: without `queue: max` a newer pending run cancels the older.
    assert release["concurrency"] == {
        "group": "pipelinegen-release",
        "cancel-in-progress": False,
        "queue": "max",
    }
    text = (compiled[name] / naming.RELEASE_WORKFLOW).read_text()
    # Nothing restores a cache another run wrote: no build cache, no actions/cache, every
    # setup action's and the scanner's own cache switched off.
    assert not re.search(r"cache-(from|to)|actions/cache|cache: true", text)
    for job in release["jobs"].values():
        for step in job.get("steps", []):
            uses = step.get("uses", "")
            inputs = step.get("with", {})
            if "setup-go" in uses or "trivy-action" in uses:
                assert inputs.get("cache") is False, step
            if "setup-node" in uses:
                assert inputs.get("package-manager-cache") is False, step
    package = release["jobs"]["package"]
    assert package["needs"] == [job for job in release["jobs"] if job != "package"]
    upload = package["steps"][-1]
    # The images first: the release zip's upload starts the pipeline, which takes the newest.
    assert upload["run"].splitlines() == [
        'aws s3 cp dist/release.images.zip "s3://$BUCKET/$IMAGES_KEY" --no-progress '
        '--metadata "release-version=$RELEASE_VERSION"',
        'aws s3 cp dist/release.zip "s3://$BUCKET/$KEY" --no-progress '
        '--metadata "release-version=$RELEASE_VERSION"',
    ]
    assert upload["env"]["IMAGES_KEY"] == upload["env"]["KEY"].removesuffix(".zip") + ".images.zip"


def test_release_triggers_on_the_spec_tags(compiled: dict[str, Path]) -> None:
    release = load(compiled["spec-tricky"] / naming.RELEASE_WORKFLOW)
    assert release["on"] == {"push": {"tags": ["v*", "release-*-x", "*.*.*"]}}

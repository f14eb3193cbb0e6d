"""Nothing is uploaded for a release that may not happen: the generated gate step, run as the
workflow runs it against real git repositories, and the release workflow's job graph, read
with GitHub's rule that a job runs only when every job it needs succeeded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen import naming
from tests.conftest import ROOT
from tests.render.conftest import compile_text
from tests.render.test_workflow_linters import tool
from tests.snapshot import IDENTITY, git


def workflow(root: Path) -> dict[str, Any]:
    return YAML(typ="safe").load((root / naming.RELEASE_WORKFLOW).read_text())  # type: ignore[no-any-return]


def gate_step(root: Path) -> dict[str, Any]:
    """The gate step that runs release-gate.sh."""
    [step] = [
        s
        for s in workflow(root)["jobs"]["gate"]["steps"]
        if naming.RELEASE_GATE_SCRIPT in s.get("run", "")
    ]
    return step  # type: ignore[no-any-return]


def commit(repo: Path, message: str) -> str:
    (repo / f"{message}.txt").write_text(message + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


class Origin:
    """A repository on 'GitHub' with the compiled outputs, a default branch and a feature
    branch; `checkout(ref)` clones it the way actions/checkout with fetch-depth 0 does."""

    def __init__(self, root: Path, compiled: Path, branch: str) -> None:
        self.path, self.branch = root / "origin", branch
        self.path.mkdir()
        git(self.path, "init", "-q", "-b", branch)
        shutil.copytree(compiled / ".github", self.path / ".github")
        self.base = commit(self.path, "base")
        git(self.path, "checkout", "-q", "-b", "feature")
        self.feature = commit(self.path, "unreviewed")
        git(self.path, "checkout", "-q", branch)
        self.merged = commit(self.path, "reviewed")

    def checkout(self, ref: str, into: Path) -> Path:
        git(into.parent, "clone", "-q", "--no-checkout", str(self.path), str(into))
        git(into, "checkout", "-q", "--detach", ref)
        return into


def run_gate(
    compiled: Path, checkout: Path, *, sha: str, repository: str
) -> subprocess.CompletedProcess[str]:
    """The gate job's repository step, as GitHub runs it: its `env:`, GitHub's variables,
    `bash -e`."""
    step = gate_step(compiled)
    env = {"PATH": os.environ["PATH"], "HOME": str(checkout.parent), **IDENTITY, **step["env"]}
    env.update(GITHUB_REPOSITORY=repository, GITHUB_SHA=sha)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(params=["example-full", "spec-tricky"])
def origin(request: pytest.FixtureRequest, compiled: dict[str, Path], tmp_path: Path) -> Origin:
    """example-full's default branch is `main`; the tricky spec's is `release/2024.x`."""
    root = compiled[request.param]
    branch = gate_step(root)["env"]["DEFAULT_BRANCH"]
    found = Origin(tmp_path, root, branch)
    found.compiled = root  # type: ignore[attr-defined]
    return found


def expected_repository(origin: Origin) -> str:
    compiled: Path = origin.compiled  # type: ignore[attr-defined]
    return str(gate_step(compiled)["env"]["EXPECTED_REPOSITORY"])


def gate(origin: Origin, tmp_path: Path, ref: str, *, repository: str | None = None) -> Any:
    checkout = origin.checkout(ref, tmp_path / "checkout")
    sha = git(checkout, "rev-parse", ref)  # a tag object's id for annotated tags, like GitHub
    return run_gate(
        origin.compiled,  # type: ignore[attr-defined]
        checkout,
        sha=sha,
        repository=repository or expected_repository(origin),
    )


def test_a_tag_on_the_default_branch_passes(origin: Origin, tmp_path: Path) -> None:
    git(origin.path, "tag", "-a", "-m", "release", "v1.0.0", origin.base)
    result = gate(origin, tmp_path, "v1.0.0")
    assert result.returncode == 0, result.stderr
    assert f"{origin.base} is on '{origin.branch}'" in result.stdout


def test_a_tag_off_the_default_branch_is_refused(origin: Origin, tmp_path: Path) -> None:
    git(origin.path, "tag", "v1.0.1", origin.feature)
    result = gate(origin, tmp_path, "v1.0.1")
    assert result.returncode == 1
    assert result.stderr == (
        f"::error title=release refused::commit {origin.feature} is not on the default branch "
        f"'{origin.branch}'; merge it, tag the merged commit, and push that tag (or set "
        "release.require_default_branch: false in the spec)\n"
    )


def test_a_tag_passes_once_its_commit_is_merged(origin: Origin, tmp_path: Path) -> None:
    git(origin.path, "tag", "v1.0.2", origin.feature)
    git(origin.path, "merge", "-q", "--no-ff", "-m", "merge", "feature")
    assert gate(origin, tmp_path, "v1.0.2").returncode == 0


def test_another_casing_of_the_repository_is_refused_naming_both(
    origin: Origin, tmp_path: Path
) -> None:
    git(origin.path, "tag", "v1.0.3", origin.base)
    spec = expected_repository(origin)
    github = spec.upper()
    result = gate(origin, tmp_path, "v1.0.3", repository=github)
    assert result.returncode == 1
    assert f"the spec's github.repository is '{spec}' but GitHub spells" in result.stderr
    assert f"this repository '{github}'" in result.stderr
    assert f"write github.repository: {github} in the spec" in result.stderr


def test_another_repository_is_refused(origin: Origin, tmp_path: Path) -> None:
    git(origin.path, "tag", "v1.0.4", origin.base)
    result = gate(origin, tmp_path, "v1.0.4", repository="someone/fork")
    assert result.returncode == 1
    assert "this workflow runs in 'someone/fork'" in result.stderr


def test_a_checkout_without_the_default_branch_is_refused(
    compiled: dict[str, Path], tmp_path: Path
) -> None:
    origin = Origin(tmp_path, compiled["example-full"], "main")
    checkout = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "-q",
        "--single-branch",
        "--branch",
        "feature",
        str(origin.path),
        str(checkout),
    )
    result = run_gate(
        compiled["example-full"], checkout, sha=origin.feature, repository="acme/platform"
    )
    assert result.returncode == 1
    assert "has no 'refs/remotes/origin/main'" in result.stderr


@pytest.mark.parametrize("name", ["example-full", "example-minimal", "spec-tricky"])
def test_a_failed_gate_check_or_scan_stops_the_release_before_the_upload(
    compiled: dict[str, Path], name: str
) -> None:
    release = workflow(compiled[name])
    jobs = release["jobs"]
    uploading = [
        job_id
        for job_id, job in jobs.items()
        for step in job.get("steps", [])
        if "aws s3 cp" in step.get("run", "") or "configure-aws-credentials" in step.get("uses", "")
    ]
    assert uploading == ["package", "package"]
    package = jobs["package"]
    assert all("if" not in step for step in package["steps"])
    expected_needs = {"gate", *(j for j in jobs if j.startswith(("image-", "version", "ci-")))}
    if "scan" in jobs:
        expected_needs.add("scan")
    assert set(package["needs"]) == expected_needs
    for failing in expected_needs:
        assert "package" not in _succeeding(jobs, failing), failing
    assert "package" in _succeeding(jobs, None)


@pytest.mark.parametrize("name", ["example-full", "example-github-delivery", "spec-tricky"])
def test_every_check_finishes_before_any_image_is_built(
    compiled: dict[str, Path], name: str
) -> None:
    """No code from a check runs while a release artifact can still be written: each image job
    needs every `ci-` job, and no job that writes an artifact runs beside a check."""
    jobs = workflow(compiled[name])["jobs"]
    checks = {job_id for job_id in jobs if job_id.startswith("ci-")}
    writers = {
        job_id
        for job_id, job in jobs.items()
        for step in job.get("steps", [])
        if "upload-artifact" in step.get("uses", "")
    }
    assert writers and writers.isdisjoint(checks)
    for writer in writers:
        assert checks <= _ancestors(jobs, writer), writer


def _ancestors(jobs: dict[str, Any], job_id: str) -> set[str]:
    found: set[str] = set()
    todo = list(jobs[job_id].get("needs", []))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo += jobs[current].get("needs", [])
    return found


def _succeeding(jobs: dict[str, Any], failing: str | None) -> set[str]:
    """The jobs that run and succeed when `failing` fails (GitHub: without an `if:`, a job
    runs only when every job in its `needs` succeeded; "jobs.<job_id>.needs")."""
    succeeded: set[str] = set()
    decided: set[str] = set()
    while len(decided) < len(jobs):
        for job_id, job in jobs.items():
            needs = set(job.get("needs", []))
            if job_id in decided or not needs <= decided:
                continue
            assert "if" not in job, job_id  # `if: always()` would run past a failure
            decided.add(job_id)
            if needs <= succeeded and job_id != failing:
                succeeded.add(job_id)
    return succeeded


def test_the_release_runs_the_checks_only_where_they_did_not_pass(
    compiled: dict[str, Path],
) -> None:
    """The CI workflow is no longer called by the release (no second run of passed checks): the
    gate names what did not pass, and each `ci-` job's every step runs only for those."""
    ci = YAML(typ="safe").load((compiled["example-full"] / naming.CI_WORKFLOW).read_text())
    assert "workflow_call" not in ci["on"]
    release = workflow(compiled["example-full"])
    gate_job = release["jobs"]["gate"]
    assert gate_job["permissions"] == {"contents": "read", "checks": "read"}
    [reading] = [s for s in gate_job["steps"] if naming.CHECK_RUNS_SCRIPT in s.get("run", "")]
    required = reading["env"]["REQUIRED"].split()
    assert required == ["lint", "test", "web-test", "secrets", "chart", "pipelinegen"]
    assert {j for j in release["jobs"] if j.startswith("ci-")} == {f"ci-{n}" for n in required}
    for name in required:
        job = release["jobs"][f"ci-{name}"]
        assert job["needs"] == ["gate"] and "if" not in job
        condition = f"contains(fromJSON(needs.gate.outputs.rerun), '{name}')"
        assert {step.get("if") for step in job["steps"]} == {condition}
        assert job["steps"] == [{**s, "if": condition} for s in ci["jobs"][name]["steps"]]
    assert all("uses" not in job or "$/" not in job["uses"] for job in release["jobs"].values())
    tricky = workflow(compiled["spec-tricky"])
    assert not any(j.startswith("ci-") for j in tricky["jobs"])  # release.require_ci: false
    assert "checks" not in tricky["jobs"]["gate"]["permissions"]
    assert tricky["jobs"]["package"]["environment"] == "on"
    assert workflow(compiled["example-minimal"])["jobs"]["package"]["environment"] == "release"


def test_the_gate_script_is_shellcheck_clean_and_strict() -> None:
    script = ROOT / "templates" / "scripts" / "release-gate.sh"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n# release-gate.sh: ")
    assert "\nset -euo pipefail\n" in text and "# Environment:" in text
    result = subprocess.run(
        [tool("shellcheck"), "--severity=style", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_a_spec_can_allow_tags_off_the_default_branch(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "minimal" / "pipeline.yaml").read_text()
    text += "release:\n  require_default_branch: false\n"
    root = tmp_path / "compiled"
    for path, content in compile_text(text).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    checkout = workflow(root)["jobs"]["gate"]["steps"][0]
    step = gate_step(root)
    assert "fetch-depth" not in checkout["with"] and "DEFAULT_BRANCH" not in step["env"]
    origin = Origin(tmp_path, root, "main")
    clone = origin.checkout(origin.feature, tmp_path / "checkout")
    result = run_gate(root, clone, sha=origin.feature, repository="acme/hello")
    assert (result.returncode, result.stdout) == (0, "release-gate: acme/hello may release\n")

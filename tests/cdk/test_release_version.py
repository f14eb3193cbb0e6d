"""release_version.py: the one definition of a release version, run by the release workflow on the
tag (before anything is built or uploaded) and imported by the contract check in CodeBuild; both
sides must refuse exactly the same versions with the same words."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pipelinegen import naming
from tests.cdk.conftest import IMAGES_DIR, SCRIPTS, run_script, write_manifest
from tests.cdk.test_marketplace import _load
from tests.conftest import ROOT
from tests.render.conftest import all_specs, compile_text

rv = _load("release_version")
GOOD = ["v1.2.3", "1", "2026.11.0-rc.1", "V1_2", "release-7", "v" + "1" * 62]
BAD = {
    "v1.2.3+build.7": "'+' cannot be in an image tag",
    "release/1.0": "'/' cannot be in an image tag",
    "v1.2.3 ": "' ' cannot be in an image tag",
    "v1.\uff12": "'\uff12' cannot be in an image tag",  # a fullwidth digit
    "-v1": "it starts with '-'",
    "_v1": "it starts with '_'",
    "v1.": "it ends with '.'",
    "": "it is empty",
    "latest": "'latest' is the moving tag",
    "v" + "1" * 63: "it has 64 characters; at most 63",
    "v" + "1" * 128: "it has 129 characters; at most 63",
}


@pytest.mark.parametrize("version", GOOD)
def test_good_versions_pass(version: str) -> None:
    assert rv.problems(version) == []


@pytest.mark.parametrize(("version", "problem"), BAD.items())
def test_each_limit_is_named(version: str, problem: str) -> None:
    assert any(found.startswith(problem) for found in rv.problems(version)), rv.problems(version)


@given(st.text(alphabet="aZ09_.-+/ :@é", max_size=70))
def test_the_pattern_and_the_checks_agree(version: str) -> None:
    """PATTERN (for tools that want one expression) says what problems() says."""
    accepted = re.fullmatch(rv.PATTERN, version) is not None and version not in rv.RESERVED
    assert accepted == (rv.problems(version) == [])


def test_the_binding_limit_is_the_smallest() -> None:
    assert rv.MAX_LENGTH == 63 and rv.IMAGE_TAG_MAX == 128 and rv.VERSION_TITLE_MAX == 64


def run_checker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "release_version.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_script_refuses_with_every_reason_and_passes_silently() -> None:
    result = run_checker("-v1.2.3+build.7")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: release version '-v1.2.3+build.7' is not valid: '+' cannot be in an image tag "
        f"(only letters, digits, '_', '.', '-'). A release version is {rv.GRAMMAR}; push a tag "
        "like that",
        "error: release version '-v1.2.3+build.7' is not valid: it starts with '-'; a Kubernetes "
        f"label value starts with a letter or digit. A release version is {rv.GRAMMAR}; push a "
        "tag like that",
    ]
    assert run_checker("v1.2.3").returncode == 0 and run_checker("v1.2.3").stderr == ""


@pytest.mark.parametrize(
    ("version", "chart"),
    [
        ("v1.2.3", True),
        ("1.2.3-rc.1", True),
        ("v2026.11.0-rc.1", True),
        ("1.2.3+build.7", True),  # SemVer allows build metadata; the image tag check does not
        ("release-7", False),
        ("v1.2", False),
        ("v01.2.3", False),
        ("V1_2", False),
    ],
)
def test_a_helm_chart_needs_a_semver_version(version: str, chart: bool) -> None:
    assert (rv.chart_problems(version) == []) is chart


def test_the_script_checks_chart_versions_when_asked() -> None:
    result = run_checker("--helm-chart", "release-7")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: release version 'release-7' is not a SemVer 2 version (such as v1.2.3"
    )
    assert run_checker("release-7").returncode == 0
    assert run_checker("--helm-chart", "v1.2.3").returncode == 0


# --- the GitHub side: the compiled release workflow -------------------------------------------


def release_workflow(files: dict[str, str]) -> Any:
    return YAML(typ="safe", pure=True).load(files[naming.RELEASE_WORKFLOW])


def test_the_workflow_checks_the_tag_before_any_build_or_upload() -> None:
    for spec in all_specs().values():
        jobs = release_workflow(compile_text(spec.read_text(encoding="utf-8")))["jobs"]
        version = jobs["version"]
        assert "needs" not in version and "id-token" not in version["permissions"]
        reruns = [name for name in jobs if name.startswith("ci-")]  # checks not passed on CI
        for name, job in jobs.items():
            if name.startswith("image-"):
                assert job["needs"] == ["version", "gate", *reruns]
        # The package job (which assumes the role and uploads) needs every image job.
        assert {n for n in jobs if n.startswith("image-")} <= set(jobs["package"]["needs"])


def test_the_workflow_asks_for_a_chart_version_when_the_helm_chart_is_published() -> None:
    full = (ROOT / "examples" / "full" / "pipeline.yaml").read_text(encoding="utf-8")
    minimal = (ROOT / "examples" / "minimal" / "pipeline.yaml").read_text(encoding="utf-8")
    for text, flag in ((full, True), (minimal, False)):
        jobs = release_workflow(compile_text(text))["jobs"]
        [run] = [step["run"] for step in jobs["version"]["steps"] if "run" in step]
        assert ("--helm-chart" in run) is flag, run


@pytest.mark.parametrize("version", ["v1.2.3+build.7", "v1.2.3", "release-1/2"])
def test_both_sides_refuse_the_same_tag_with_the_same_words(
    tmp_path: Path, release: Path, version: str
) -> None:
    """The workflow's step, run as GitHub would run it in the compiled repository, and the
    contract check in CodeBuild on a release with that version."""
    root = tmp_path / "repository"
    files = compile_text((ROOT / "examples" / "full" / "pipeline.yaml").read_text())
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    [step] = [s for s in release_workflow(files)["jobs"]["version"]["steps"] if "run" in s]
    github = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step["run"]],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "RELEASE_VERSION": version},
        capture_output=True,
        text=True,
        check=False,
    )
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["version"] = version
    write_manifest(release, manifest)
    env = {"EXPECTED_SPEC_SHA256": "5" * 64, "IMAGES_DIR": IMAGES_DIR}
    codebuild = run_script("verify-release.sh", cwd=release, env=env)
    expected = rv.explain(version)
    assert github.returncode == codebuild.returncode == (1 if expected else 0)
    assert github.stderr.splitlines() == [f"error: {line}" for line in expected]
    if expected:
        assert codebuild.stderr == f"error: manifest.json: {'; '.join(expected)}\n"

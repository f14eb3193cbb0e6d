"""`diff` in shallow clones: a real `git clone --depth 1` of a local repository (file://, so git
clones shallowly as it would from GitHub), never a silent fallback."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipelinegen.cli import cli
from tests.conftest import ROOT, init_repo
from tests.snapshot import git


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def edit(repo: Path, old: str, new: str) -> None:
    spec = repo / "pipeline.yaml"
    text = spec.read_text()
    assert old in text, old
    spec.write_text(text.replace(old, new, 1))


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """The full example on main with history after the branch point, and a `risky` branch
    that drops prod's approval, adds an image and trusts every tag (compiled and committed)."""
    root = tmp_path / "upstream"
    shutil.copytree(ROOT / "examples" / "full", root)
    init_repo(root)
    git(root, "checkout", "-q", "-b", "risky")
    edit(root, "    approval: true\n", "")
    edit(root, 'release_tags: ["v*"]', 'release_tags: ["v*", "*"]')
    edit(root, "images:\n", "images:\n  - name: jobs\n    context: services/worker\n")
    assert CliRunner().invoke(cli, ["compile", str(root / "pipeline.yaml")]).exit_code == 0
    commit_all(root, "risky")
    git(root, "checkout", "-q", "main")
    for number in range(3):  # main moves on: the branch point is not its tip
        (root / f"notes-{number}.txt").write_text(f"{number}\n")
        commit_all(root, f"notes {number}")
    return root


@pytest.fixture
def clone(upstream: Path, tmp_path: Path) -> Path:
    """What GitHub's checkout gives: one commit, no history, no main."""
    target = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "risky", upstream.as_uri(), str(target)],
        check=True,
    )
    assert git(target, "rev-parse", "--is-shallow-repository").strip() == "true"
    assert git(target, "rev-list", "--count", "HEAD").strip() == "1"
    return target


def run(repo: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["diff", str(repo / "pipeline.yaml"), *args])
    assert "Traceback" not in result.output, result.output
    return result


def rules(result: Result) -> set[tuple[str, str]]:
    return {(c["risk"], c["rule"]) for c in json.loads(result.stdout)["changes"]}


RISKY = {
    ("high", "approval-removed"),
    ("high", "marketplace-ahead"),
    ("high", "release-tags-added"),
    ("medium", "image-added"),
}


def test_shallow_clone_deepens_its_history_to_the_merge_base(clone: Path, upstream: Path) -> None:
    result = run(clone, "--format", "json", "--fail-on", "high")
    assert result.exit_code == 1, result.output
    assert "shallow clone: fetching history from origin" in result.stderr
    assert rules(result) >= RISKY
    branch_point = git(upstream, "merge-base", "main", "risky").strip()
    assert json.loads(result.stdout)["base"]["label"] == branch_point[:12]
    assert json.loads(result.stdout)["drift"] == {
        "edited": [],
        "missing": [],
        "unread": [],
        "extra": [],
    }


def test_without_fetching_it_stops_with_the_git_fetch_to_run(clone: Path) -> None:
    result = run(clone, "--no-fetch")
    assert result.exit_code == 1
    assert result.stdout == ""  # no verdict at all, least of all "no change"
    assert "no merge base of HEAD and origin/main in this shallow clone" in result.stderr
    command = "git fetch --no-tags --unshallow origin +refs/heads/main:refs/remotes/origin/main"
    assert command in result.stderr
    # The printed command is the one that works.
    subprocess.run([*shlex.split(command)], cwd=clone, check=True, capture_output=True)
    after = run(clone, "--no-fetch", "--format", "json")
    assert after.exit_code == 0, after.output
    assert rules(after) >= RISKY


def test_a_remote_that_cannot_be_reached_is_said(clone: Path, upstream: Path) -> None:
    shutil.rmtree(upstream)
    result = run(clone)
    assert result.exit_code == 1 and result.stdout == ""
    assert "no merge base of HEAD and origin/main in this shallow clone" in result.stderr
    assert "git fetch --no-tags --unshallow origin" in result.stderr


def test_a_base_commit_missing_from_a_shallow_clone(clone: Path, upstream: Path) -> None:
    base = git(upstream, "rev-parse", "main").strip()
    result = run(clone, "--base", base)
    assert result.exit_code == 1
    assert f"git fetch --depth=1 origin {base}" in result.stderr


def test_no_default_branch_is_an_error_not_a_guess(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "minimal", root)
    init_repo(root, "work")
    result = run(root)
    assert result.exit_code == 1 and result.stdout == ""
    assert "cannot find the default branch: neither origin/main nor main exists" in (result.stderr)
    assert run(root, "--base", "HEAD").exit_code == 0


def test_unrelated_histories_have_no_merge_base(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "minimal", root)
    init_repo(root)
    git(root, "checkout", "-q", "--orphan", "other")
    commit_all(root, "unrelated")
    result = run(root)
    assert result.exit_code == 1
    assert "HEAD and main have no common history" in result.stderr

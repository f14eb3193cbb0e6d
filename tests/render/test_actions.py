"""The vetted action table is well formed, and scripts/refresh-actions parses `git ls-remote`.

Offline only: whether each SHA really is its tag's commit is checked online by
scripts/refresh-actions; here we check the shape that offline linters can't see past.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from pipelinegen.render.github.actions import ACTIONS, TOOLS, Action, Tool, action, tool

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "refresh-actions"
SHA = re.compile(r"[0-9a-f]{40}")
RELEASE = re.compile(r"v\d+\.\d+\.\d+")
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")

# Real `git ls-remote --tags` lines (aquasecurity/trivy-action, actions/checkout): a lightweight
# release tag, an annotated one with its peeled `^{}` line, a tag without the `v`, a floating
# major tag, and a pre-release; plus a non-tag ref and a blank line, which are ignored.
SAMPLE = """\
c1824fd6edce30d7ab345a9989de00bbd46ef284\trefs/tags/v0.34.0
57a97c7e7821a5776cebc9bb87c984fa69cba8f1\trefs/tags/0.35.0
57a97c7e7821a5776cebc9bb87c984fa69cba8f1\trefs/tags/v0.35.0
a9c7b0f06e461e9d4b4d1711f154ee024b8d7ab8\trefs/tags/v0.36.0
ed142fd0673e97e23eac54620cfb913e5ce36c25\trefs/tags/v0.36.0^{}
3d3c42e5aac5ba805825da76410c181273ba90b1\trefs/tags/v1
df678dbccf677bc6937338d569ba0da18964a8cc\trefs/heads/master

0a1b2c3d4e5f60718293a4b5c6d7e8f901234567\trefs/tags/v1.0.0-rc.1
"""


@pytest.fixture(scope="module")
def refresh() -> Iterator[ModuleType]:
    """scripts/refresh-actions imported as a module (it has no .py suffix)."""
    name = "refresh_actions"
    loader = importlib.machinery.SourceFileLoader(name, str(SCRIPT))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while building classes
    try:
        loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def function(module: ModuleType, name: str) -> Callable[..., Any]:
    return cast(Callable[..., Any], getattr(module, name))


@pytest.mark.parametrize("repository", sorted(ACTIONS))
def test_action_is_pinned_to_a_full_sha_and_release(repository: str) -> None:
    entry = ACTIONS[repository]
    assert entry.repository == repository
    assert REPOSITORY.fullmatch(repository)
    assert SHA.fullmatch(entry.sha), entry.sha
    assert RELEASE.fullmatch(entry.version), entry.version
    assert entry.runtime in {"node24", "composite", "docker"}
    assert entry.runtime not in {"node20", "node16", "node12"}
    assert entry.uses() == f"{repository}@{entry.sha}"
    assert action(repository) is entry


def test_the_table_holds_what_workflows_need() -> None:
    assert {
        "actions/checkout",
        "actions/setup-python",
        "actions/setup-node",
        "actions/setup-go",
        "actions/setup-java",
        "actions/upload-artifact",
        "actions/download-artifact",
        "docker/setup-qemu-action",
        "docker/setup-buildx-action",
        "docker/build-push-action",
        "aws-actions/configure-aws-credentials",
        "aquasecurity/trivy-action",
        "marocchino/sticky-pull-request-comment",
    } <= set(ACTIONS)
    assert len({entry.sha for entry in ACTIONS.values()}) == len(ACTIONS)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_is_pinned_to_a_release(name: str) -> None:
    entry = TOOLS[name]
    assert entry.name == name
    assert RELEASE.fullmatch(entry.version), entry.version
    assert SHA.fullmatch(entry.sha), entry.sha
    assert REPOSITORY.fullmatch(entry.repository)
    assert entry.source
    assert entry.note
    assert tool(name) is entry


def test_gitleaks_installs_from_its_go_module() -> None:
    assert TOOLS["gitleaks"].source == "github.com/zricethezav/gitleaks/v8"
    assert TOOLS["gitleaks"].version.startswith("v8.")


def test_unvetted_names_fail_clearly() -> None:
    with pytest.raises(KeyError, match=r"'actions/chekout' is not a vetted action"):
        action("actions/chekout")
    with pytest.raises(KeyError, match=r"'trufflehog' is not a pinned tool"):
        tool("trufflehog")


def test_entries_are_frozen() -> None:
    entry = ACTIONS["actions/checkout"]
    with pytest.raises(AttributeError):
        entry.sha = "0" * 40  # type: ignore[misc]
    assert isinstance(entry, Action)
    assert isinstance(TOOLS["trivy"], Tool)


def test_ls_remote_parsing_peels_annotated_tags(refresh: ModuleType) -> None:
    tags = cast(dict[str, str], function(refresh, "parse_ls_remote")(SAMPLE))
    assert tags == {
        "v0.34.0": "c1824fd6edce30d7ab345a9989de00bbd46ef284",
        "0.35.0": "57a97c7e7821a5776cebc9bb87c984fa69cba8f1",
        "v0.35.0": "57a97c7e7821a5776cebc9bb87c984fa69cba8f1",
        # the commit from the `^{}` line, not the tag object a9c7b0f0…
        "v0.36.0": "ed142fd0673e97e23eac54620cfb913e5ce36c25",
        "v1": "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v1.0.0-rc.1": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    }


def test_ls_remote_parsing_peels_whatever_the_line_order(refresh: ModuleType) -> None:
    lines = SAMPLE.splitlines()
    tags = cast(dict[str, str], function(refresh, "parse_ls_remote")("\n".join(reversed(lines))))
    assert tags["v0.36.0"] == "ed142fd0673e97e23eac54620cfb913e5ce36c25"


@pytest.mark.parametrize("line", ["not-a-sha\trefs/tags/v1.0.0", "a9c7b0f0 refs/tags/v1.0.0"])
def test_ls_remote_parsing_rejects_malformed_lines(refresh: ModuleType, line: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        function(refresh, "parse_ls_remote")(line)


def test_check_matches_and_lists_newer_releases(refresh: ModuleType) -> None:
    tags = function(refresh, "parse_ls_remote")(SAMPLE)
    check = function(refresh, "check")
    current = check(
        "aquasecurity/trivy-action", "v0.35.0", "57a97c7e7821a5776cebc9bb87c984fa69cba8f1", tags
    )
    assert current.ok
    assert current.newer_same_major == ["v0.36.0"]
    assert current.newer_majors == []  # v1 is a floating tag and v1.0.0-rc.1 a pre-release
    assert current.suggestions == ["v0.36.0"]

    older = check(
        "x/y",
        "v0.34.0",
        "c1824fd6edce30d7ab345a9989de00bbd46ef284",
        {
            **tags,
            "v2.0.0": "1" * 40,
            "v1.2.3": "2" * 40,
            "v0.34.10": "3" * 40,
        },
    )
    assert older.ok
    assert older.newer_same_major == ["v0.34.10", "v0.35.0", "v0.36.0"]  # numeric, not text
    assert older.newer_majors == ["v1.2.3", "v2.0.0"]
    assert older.suggestions == ["v0.36.0", "v2.0.0"]


def test_check_fails_on_a_moved_or_missing_tag(refresh: ModuleType) -> None:
    tags = function(refresh, "parse_ls_remote")(SAMPLE)
    check = function(refresh, "check")
    # the tag object's id is not the commit: recording it would be a mismatch
    moved = check("a/b", "v0.36.0", "a9c7b0f06e461e9d4b4d1711f154ee024b8d7ab8", tags)
    assert not moved.ok
    assert moved.actual_sha == "ed142fd0673e97e23eac54620cfb913e5ce36c25"
    missing = check("a/b", "v0.37.0", "0" * 40, tags)
    assert not missing.ok
    assert missing.actual_sha is None


def test_parse_version(refresh: ModuleType) -> None:
    parse_version = function(refresh, "parse_version")
    assert parse_version("v10.2.3") == (10, 2, 3)
    for tag in ("v7", "0.35.0", "v1.0.0-rc.1", "v3-node20", "v1.2"):
        assert parse_version(tag) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nruns:\n  using: 'node24'\n  main: dist/index.js\n", "node24"),
        ('runs:\n  using: "composite"  # steps below\n  steps: []\n', "composite"),
        ("runs:\n    using: docker\n    image: Dockerfile\n", "docker"),
        ("inputs:\n  using:\n    default: no\nruns:\n  using: node24\n", "node24"),
        ("name: x\n# runs:\n#   using: node20\n", None),
    ],
)
def test_runtime_from_metadata(refresh: ModuleType, text: str, expected: str | None) -> None:
    assert function(refresh, "runtime_from_metadata")(text) == expected


def test_remote_url(refresh: ModuleType) -> None:
    remote_url = function(refresh, "remote_url")
    assert remote_url("https://github.com/{repository}", "a/b") == "https://github.com/a/b"
    assert remote_url("/mirrors/{owner}+{name}.git", "a/b") == "/mirrors/a+b.git"

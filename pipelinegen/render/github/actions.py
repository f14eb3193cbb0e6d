"""The vetted GitHub Actions, each pinned to a verified commit SHA, and the pinned tools.

This table is the source of truth: every `uses:` that pipelinegen writes into a workflow comes
from `ACTIONS`, as `{repository}@{sha} # {version}`, and nothing else may be used. Offline
linters (zizmor's `unpinned-uses`) only check that a ref is 40 hex characters, so whether each
SHA is genuine rests on this table.

How each SHA was verified (2026-11-26): in a git copy of the action's own repository,
`git rev-parse '<version>^{commit}'` gives the commit the release tag points to (annotated tags
dereferenced to their commit), which must equal `sha`; the floating major tag (`v7` for
`v7.0.1`) points to the same commit wherever the action keeps one; the commit is on the
default branch or on the action's release branch (`releases/v5` for setup-java);
`runtime` is `runs.using` read with `git show '<version>:action.yml'` (or `action.yaml`) at
that tag. The version is the newest `vX.Y.Z` release tag of the newest major in those copies,
which were stored snapshots of the repositories (newest commits from 2026-02 to 2026-08), not
live GitHub.

`scripts/refresh-actions` re-verifies every entry, tools included, online (`git ls-remote
--tags` against github.com): it fails when a recorded tag no longer points to the recorded
SHA, lists newer releases, and with `--update` prints suggested replacement entries. Edit this
table by hand, from its output, and record the new verification date above.
"""

from __future__ import annotations

from dataclasses import dataclass

VERIFIED_ON = "2026-11-26"
"""The date every SHA and tool version below was last checked against its repository's tags."""


@dataclass(frozen=True)
class Action:
    """One GitHub Action at one release, pinned to the commit its release tag points to."""

    repository: str
    """`owner/name` on GitHub, e.g. `actions/checkout`."""
    version: str
    """The exact release tag, e.g. `v5.0.0`; templates write it as the `# {version}` comment."""
    sha: str
    """The full 40-hex commit SHA the `version` tag points to (annotated tags dereferenced)."""
    runtime: str
    """`runs.using` in the action's metadata at that tag: `node24`, `composite` or `docker`."""

    def uses(self) -> str:
        """The value of `uses:` (templates add ` # {version}` after it)."""
        return f"{self.repository}@{self.sha}"


@dataclass(frozen=True)
class Tool:
    """A tool that a generated workflow installs itself, pinned to one release."""

    name: str
    """Short name, the key in `TOOLS`."""
    version: str
    """The exact release tag, e.g. `v8.30.1`."""
    source: str
    """Where it is installed from: a Go module path (`go install {source}@{version}`), or the
    repository whose release binaries an action downloads."""
    note: str
    """How it is installed and verified, and anything a template author must know."""
    repository: str
    """`owner/name` of the GitHub repository whose tag `version` is (what the refresh checks)."""
    sha: str
    """The commit the `version` tag pointed to when verified (annotated tags dereferenced)."""


ACTIONS: dict[str, Action] = {
    "actions/checkout": Action(
        repository="actions/checkout",
        version="v7.0.1",
        sha="3d3c42e5aac5ba805825da76410c181273ba90b1",
        runtime="node24",
    ),
    "actions/setup-python": Action(
        repository="actions/setup-python",
        version="v7.0.0",
        sha="5fda3b95a4ea91299a34e894583c3862153e4b97",
        runtime="node24",
    ),
    "actions/setup-node": Action(
        repository="actions/setup-node",
        version="v7.0.0",
        sha="820762786026740c76f36085b0efc47a31fe5020",
        runtime="node24",
    ),
    "actions/setup-go": Action(
        repository="actions/setup-go",
        version="v7.0.0",
        sha="b7ad1dad31e06c5925ef5d2fc7ad053ef454303e",
        runtime="node24",
    ),
    # v5.7.0 is on the releases/v5 branch (main is preparing an unreleased v6).
    "actions/setup-java": Action(
        repository="actions/setup-java",
        version="v5.7.0",
        sha="b6effb05e454b25005698d916606bdc6ffcbf961",
        runtime="node24",
    ),
    "actions/upload-artifact": Action(
        repository="actions/upload-artifact",
        version="v7.0.0",
        sha="bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        runtime="node24",
    ),
    "actions/download-artifact": Action(
        repository="actions/download-artifact",
        version="v8.0.1",
        sha="3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        runtime="node24",
    ),
    "docker/setup-qemu-action": Action(
        repository="docker/setup-qemu-action",
        version="v4.2.0",
        sha="96fe6ef7f33517b61c61be40b68a1882f3264fb8",
        runtime="node24",
    ),
    "docker/setup-buildx-action": Action(
        repository="docker/setup-buildx-action",
        version="v4.3.0",
        sha="37fe631027851001ddb9b187196cc803df7f5f0e",
        runtime="node24",
    ),
    "docker/build-push-action": Action(
        repository="docker/build-push-action",
        version="v7.3.0",
        sha="53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
        runtime="node24",
    ),
    "aws-actions/configure-aws-credentials": Action(
        repository="aws-actions/configure-aws-credentials",
        version="v6.2.3",
        sha="e6de054238d6b7531b4efff3b6587d9aade6a06c",
        runtime="node24",
    ),
    # An annotated, SSH-signed tag (tag object a9c7b0f0…), dereferenced to its commit. Its
    # default Trivy is v0.70.0: templates pass `version:` from TOOLS["trivy"]. Releases from
    # v0.35.0 on postdate the March 2026 tag-poisoning of this repository.
    "aquasecurity/trivy-action": Action(
        repository="aquasecurity/trivy-action",
        version="v0.36.0",
        sha="ed142fd0673e97e23eac54620cfb913e5ce36c25",
        runtime="composite",
    ),
    "marocchino/sticky-pull-request-comment": Action(
        repository="marocchino/sticky-pull-request-comment",
        version="v3.0.5",
        sha="5770ad5eb8f42dd2c4f34da00c94c5381e49af88",
        runtime="node24",
    ),
}
"""Every action pipelinegen may use, keyed by repository."""


TOOLS: dict[str, Tool] = {
    "gitleaks": Tool(
        name="gitleaks",
        version="v8.30.1",
        source="github.com/zricethezav/gitleaks/v8",
        note=(
            "Installed with `go install github.com/zricethezav/gitleaks/v8@v8.30.1`, so the Go"
            " checksum database verifies the module; the path is the `module` line of go.mod at"
            " the tag (the repository moved to gitleaks/gitleaks, the module path did not). The"
            " tag's commit only changes .goreleaser.yml on top of master's 8d1f98c7."
        ),
        repository="gitleaks/gitleaks",
        sha="83d9cd684c87d95d656c1458ef04895a7f1cbd8e",
    ),
    "trivy": Tool(
        name="trivy",
        version="v0.74.0",
        source="github.com/aquasecurity/trivy",
        note=(
            "The `version:` input of aquasecurity/trivy-action, whose own default is v0.70.0;"
            " the action installs that release with aquasecurity/setup-trivy (pinned by SHA"
            " inside the action, v0.2.6). The scans read OCI image layouts with"
            " `trivy image --input <dir>:<ref>` (aquasecurity/trivy#475; selecting an image by"
            " its `org.opencontainers.image.ref.name` in pkg/fanal/image/oci.go)."
        ),
        repository="aquasecurity/trivy",
        sha="e1fd17a0ea4a8cf24bc4b4dd7e2cfbf4bb31b994",
    ),
}
"""Tools a generated workflow installs, keyed by name."""


def action(repository: str) -> Action:
    """The vetted pin for `repository` (`owner/name`); KeyError if it is not in the table."""
    try:
        return ACTIONS[repository]
    except KeyError:
        vetted = ", ".join(sorted(ACTIONS))
        raise KeyError(
            f"{repository!r} is not a vetted action; add it to ACTIONS in"
            f" pipelinegen/render/github/actions.py with a verified commit SHA"
            f" (vetted: {vetted})"
        ) from None


def tool(name: str) -> Tool:
    """The pinned release of tool `name`; KeyError if it is not in the table."""
    try:
        return TOOLS[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is not a pinned tool; add it to TOOLS in"
            f" pipelinegen/render/github/actions.py (pinned: {', '.join(sorted(TOOLS))})"
        ) from None

"""Where the running pipelinegen was installed from, so the generated jobs can install the same.

pip records a direct install in the distribution's `direct_url.json` (PEP 610, "Recording the
Direct URL Origin of installed distributions"; the packaging guide's "Direct URL Data
Structure"): `{"url": ..., "vcs_info": {"vcs": "git", "commit_id": ...}}` for a VCS URL,
`{"url": "file://...", "dir_info": {"editable": true}}` for a local folder, `archive_info` for
an archive. An install from a package index writes no such file. The file is read with
`importlib.metadata`; it is data written by an installer, so every field is checked before use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pipelinegen import __version__

Kind = Literal["index", "git", "local"]
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_GIT_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)+/?$")


@dataclass(frozen=True)
class Origin:
    """`index`: from a package index (pip can install `pipelinegen==version` again); `git`: an
    https git URL at a full commit (the spec's `pipelinegen: {git, commit}`); `local`: anything
    CI cannot reach (a folder, an editable install, an archive, a non-https URL)."""

    kind: Kind
    url: str = ""
    commit: str = ""
    editable: bool = False


def origin(distribution: str = "pipelinegen") -> Origin:
    """The running distribution's origin; `index` when it is not installed at all (a source
    checkout on sys.path) is never claimed: that is `local`."""
    try:
        text = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return Origin("local")
    return parse(text) if text is not None else Origin("index")


def parse(text: str) -> Origin:
    """The origin that a `direct_url.json` text records; `local` for anything unexpected."""
    try:
        record = json.loads(text)
    except ValueError:
        return Origin("local")
    if not isinstance(record, dict) or not isinstance(url := record.get("url"), str):
        return Origin("local")
    vcs = record.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git":
        commit = vcs.get("commit_id")
        clean = _without_credentials(url)
        if isinstance(commit, str) and _COMMIT.match(commit) and _GIT_URL.match(clean):
            return Origin("git", clean, commit)
        return Origin("local", clean, commit if isinstance(commit, str) else "")
    info = record.get("dir_info")
    editable = isinstance(info, dict) and info.get("editable") is True
    return Origin("local", url, editable=editable)


def _without_credentials(url: str) -> str:
    """The URL without user and password: a token must never be written into a spec."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def advice(configured: tuple[str, str] | None, found: Origin) -> str | None:
    """What to tell the user when the spec's install source (`(git, commit)` or None for the
    index) would not install the running pipelinegen in CI; None when it would."""
    if configured is not None:
        if found.kind == "git" and found.commit != configured[1]:
            return (
                f"the generated jobs install pipelinegen from {configured[0]} at "
                f"{configured[1]}, but this pipelinegen was installed from {found.url} at "
                f'{found.commit}: set pipelinegen.commit to "{found.commit}"'
            )
        return None
    if found.kind == "index":
        return None
    if found.kind == "git":
        return (
            f"the generated jobs install pipelinegen=={__version__} from the package index, but "
            f"this one was installed from {found.url} at {found.commit}: add to the spec\n"
            f"{block(found)}"
        )
    how = "an editable install" if found.editable else "a local path or a URL CI cannot reach"
    where = f" ({found.url})" if found.url else ""
    return (
        f"this pipelinegen is {how}{where}: the generated jobs install "
        f"pipelinegen=={__version__} from the package index, which fails unless that version "
        "is published there. Install pipelinegen from its git repository at a commit (pip "
        "install 'pipelinegen @ git+https://…@<commit>') and compile again, or add to the "
        'spec: pipelinegen: {git: "https://<host>/<owner>/pipelinegen.git", commit: '
        '"<full commit SHA>"}'
    )


def block(found: Origin) -> str:
    """The spec's `pipelinegen:` block for a git origin, as YAML."""
    return f'pipelinegen:\n  git: {found.url}\n  commit: "{found.commit}"'

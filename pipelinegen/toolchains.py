"""The starter checks `pipelinegen init` proposes from the toolchain manifests it finds.

Each ecosystem's own test and lint commands, only where the manifest says the project uses them
(a `test` script in package.json, pytest or ruff configured in pyproject.toml; `go test`/`go
vet` and `cargo test`/`cargo clippy` come with every Go module and Cargo package). Read-only;
a manifest that cannot be read or parsed proposes nothing. The user reviews every command: init
marks them so.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

MAX_BYTES = 1_000_000  # a manifest larger than this is not read
_GO_VERSION = re.compile(r"^go\s+(\d+\.\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Check:
    """One proposed CI check: the spec's `checks[]` item and why it was proposed."""

    name: str
    run: str
    why: str
    setup: dict[str, str] = field(default_factory=dict)
    install: str | None = None


def checks(root: Path, manifests: list[str]) -> list[Check]:
    """The checks for every manifest (repository-relative paths), named after its folder when
    it is not at the root, in the manifests' order."""
    found: list[Check] = []
    for manifest in manifests:
        path = PurePosixPath(manifest)
        text = _read(root / manifest)
        if text is None:
            continue
        folder = path.parent.as_posix()
        for check in _PROPOSERS[path.name](text, root / folder):
            prefix = "" if folder == "." else f"{_slug(folder)}-"
            cd = "" if folder == "." else f"cd {folder}\n"
            found.append(
                Check(
                    f"{prefix}{check.name}",
                    cd + check.run,
                    f"{check.why} ({manifest})",
                    check.setup,
                    cd + check.install if check.install else None,
                )
            )
    return found


def _read(path: Path) -> str | None:
    try:
        if path.is_symlink() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _slug(folder: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-")[:40] or "root"


# Lock file → how that package manager installs exactly it, and how it runs a script. pnpm and
# yarn come through corepack, which Node.js 24 bundles (the runner need not have them).
_NODE_MANAGERS = (
    ("pnpm-lock.yaml", "corepack enable\npnpm install --frozen-lockfile", "pnpm"),
    ("yarn.lock", "corepack enable\nyarn install --immutable", "yarn"),
    ("package-lock.json", "npm ci", "npm run"),
)


def _node(text: str, directory: Path) -> list[Check]:
    try:
        scripts = json.loads(text).get("scripts")
    except (ValueError, AttributeError):
        return []
    if not isinstance(scripts, dict):
        return []
    install, runner = next(
        (
            (install, runner)
            for lock, install, runner in _NODE_MANAGERS
            if (directory / lock).is_file()
        ),
        ("npm install", "npm run"),
    )
    setup = {"node": "24"}
    return [
        Check(name, f"{runner} {name}", f"package.json scripts.{name}", setup, install)
        for name in ("test", "lint")
        if name in scripts
    ]


def _go(text: str, directory: Path) -> list[Check]:
    version = _GO_VERSION.search(text)
    setup = {"go": version.group(1)} if version else {}
    return [
        Check("test", "go test ./...", "a Go module", setup),
        Check("vet", "go vet ./...", "a Go module", setup),
    ]


def _cargo(text: str, directory: Path) -> list[Check]:
    return [
        Check("test", "cargo test --locked", "a Cargo package"),
        Check("clippy", "cargo clippy --locked -- -D warnings", "a Cargo package"),
    ]


def _python(text: str, directory: Path) -> list[Check]:
    try:
        project = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    tool = project.get("tool")
    tool = tool if isinstance(tool, dict) else {}
    extras = _extras(project)
    setup = {"python": "3.12"}
    install = f"pip install -e '.[{extras[0]}]'" if extras else "pip install -e ."
    proposed = []
    if "pytest" in tool or _mentions(project, "pytest"):
        proposed.append(
            Check("test", "python -m pytest", "pytest in pyproject.toml", setup, install)
        )
    if "ruff" in tool or _mentions(project, "ruff"):
        run = "python -m ruff check .\npython -m ruff format --check ."
        proposed.append(Check("lint", run, "ruff in pyproject.toml", setup, install))
    return proposed


def _extras(project: dict[str, Any]) -> list[str]:
    """The optional-dependency groups a developer installs: test first, then dev."""
    groups = project.get("project", {}).get("optional-dependencies", {})
    if not isinstance(groups, dict):
        return []
    return [name for name in ("test", "tests", "dev") if name in groups][:1]


def _mentions(project: dict[str, Any], package: str) -> bool:
    """Whether a dependency list of the project names `package`."""
    lists: list[Any] = []
    groups = project.get("project", {}).get("optional-dependencies", {})
    if isinstance(groups, dict):
        lists.extend(groups.values())
    dependency_groups = project.get("dependency-groups", {})
    if isinstance(dependency_groups, dict):
        lists.extend(dependency_groups.values())
    return any(
        isinstance(item, str) and re.match(rf"^{package}\b", item.strip(), re.IGNORECASE)
        for listed in lists
        if isinstance(listed, list)
        for item in listed
    )


_PROPOSERS = {
    "package.json": _node,
    "go.mod": _go,
    "Cargo.toml": _cargo,
    "pyproject.toml": _python,
}
MANIFESTS = frozenset(_PROPOSERS)

"""What `init` finds in a repository: Dockerfiles, Helm charts and values files.

Read-only and separate from writing: it walks the working tree (not following symbolic links,
skipping hidden folders and dependency trees, to a bounded depth) and returns repository-relative
POSIX paths, sorted, so the same tree always gives the same starter spec.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipelinegen.toolchains import MANIFESTS

MAX_DEPTH = 5  # folders below the root
SKIPPED = {"node_modules", "vendor", "venv", "__pycache__", "cdk.out"}  # dependencies, outputs
_VALUES = re.compile(r"^values[-_.]?.*\.ya?ml$|\.ya?ml$")


@dataclass(frozen=True)
class Found:
    dockerfiles: list[str] = field(default_factory=list)  # e.g. services/web/Dockerfile
    charts: list[str] = field(default_factory=list)  # folders holding a Chart.yaml
    values: list[str] = field(default_factory=list)  # values files outside the charts
    manifests: list[str] = field(default_factory=list)  # package.json, go.mod, ... (toolchains)


def discover(root: Path) -> Found:
    """Dockerfiles (`Dockerfile`, `*.Dockerfile`, `Dockerfile.*`), charts and values files
    (`values*.yaml` beside or under a `values` folder, outside any chart) under `root`."""
    found = Found()
    candidates: list[str] = []
    for folder, subfolders, files in os.walk(root):
        here = PurePosixPath(Path(folder).relative_to(root).as_posix())
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not name.startswith(".") and name not in SKIPPED and len(here.parts) < MAX_DEPTH
        )
        regular = [name for name in files if not (Path(folder) / name).is_symlink()]
        if "Chart.yaml" in regular:
            found.charts.append(here.as_posix())
        for name in sorted(regular):
            path = (here / name).as_posix()
            if (
                name == "Dockerfile"
                or name.endswith(".Dockerfile")
                or name.startswith("Dockerfile.")
            ):
                found.dockerfiles.append(path)
            elif name in MANIFESTS and not _inside_chart(here, found.charts):
                found.manifests.append(path)
            elif name.startswith("values") or here.name == "values":
                candidates.append(path)
    inside = tuple(f"{chart}/" for chart in found.charts if chart != ".")
    found.values.extend(
        path for path in candidates if _VALUES.search(path) and not path.startswith(inside)
    )
    found.dockerfiles.sort()
    found.charts.sort(key=lambda chart: (chart.count("/"), chart))
    found.values.sort()
    found.manifests.sort(key=lambda path: (path.count("/"), path))
    return found


def _inside_chart(folder: PurePosixPath, charts: list[str]) -> bool:
    """Whether `folder` is a chart found so far or inside one (os.walk goes top-down)."""
    return any(
        folder.as_posix() == chart or folder.as_posix().startswith(f"{chart}/")
        for chart in charts
        if chart != "."
    )


def _is_dockerfile(name: str) -> bool:
    return name == "Dockerfile" or name.endswith(".Dockerfile") or name.startswith("Dockerfile.")

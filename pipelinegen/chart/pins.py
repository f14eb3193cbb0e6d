"""The sha256 of every remote dependency archive of the chart, committed beside its Chart.lock.

CI (the `chart` job) and the release each run `helm dependency build`, in different workflow
runs, and each downloads the remote dependencies again: a repository (or anyone who can change
what it serves) could hand the release another archive than the one CI rendered. Chart.lock
does not prevent it: Helm's lock records each dependency's name, repository and version, and
one `digest` of Chart.yaml's dependencies with the lock's (helm/helm
`internal/resolver/resolver.go`, `HashReq`), no archive's bytes. So the chart folder carries
`charts.sha256`, in `sha256sum`'s format, one line per remote dependency:

    <64 hex digits>  charts/<name>-<locked version>.tgz

written once by the team (`helm dependency update CHART && (cd CHART && sha256sum
charts/<name>-<version>.tgz ... > charts.sha256)`) and reviewed like code. `validate` checks that
it lists exactly the remote dependencies of Chart.lock; the step that builds the dependencies, in
CI and in the release alike, runs `sha256sum --strict --check` on it right after `helm
dependency build`, so both render the same bytes or stop (pipelinegen.render.github.jobs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipelinegen.chart.read import Chart
from pipelinegen.errors import Diagnostic
from pipelinegen.spec.repository import Repository
from pipelinegen.spec.yaml import Document

PINS_FILE = "charts.sha256"
LINE = re.compile(r"([0-9a-f]{64})  (charts/[^/\s]+\.tgz)")
HINT = (
    f"run `helm dependency update` on the chart, then write {PINS_FILE} beside Chart.yaml "
    "with `sha256sum charts/<name>-<version>.tgz` of each remote dependency, and commit it"
)


def remote_archives(chart: Chart) -> set[str]:
    """`charts/<name>-<version>.tgz` of each remote dependency, at its Chart.lock version."""
    remote = {d.name for d in chart.dependencies if d.source == "remote"}
    found = set()
    for entry in (chart.lock or {}).get("dependencies") or []:
        if isinstance(entry, dict) and entry.get("name") in remote:
            found.add(f"charts/{entry['name']}-{entry.get('version')}.tgz")
    return found


def check(chart: Chart, document: Document, repository: Repository) -> Iterator[Diagnostic]:
    """The umbrella chart's pins list exactly its remote dependencies' archives."""
    wanted = remote_archives(chart)
    path = f"{chart.path}/{PINS_FILE}"
    if not wanted:
        return
    if repository.kind(path) != "file":
        message = (
            f"'{chart.path}' has remote dependencies but no {PINS_FILE}: the release could "
            "package other archives than CI rendered"
        )
        yield document.diagnostic(("helm", "chart"), message, HINT)
        return
    pinned: set[str] = set()
    for number, line in enumerate(repository.read_text(path).splitlines(), start=1):
        match = LINE.fullmatch(line)
        if match is None:
            message = f"'{path}' line {number} is not `<sha256>  charts/<archive>.tgz`"
            yield document.diagnostic(("helm", "chart"), message, HINT)
            return
        pinned.add(match.group(2))
    if pinned != wanted:
        missing, extra = sorted(wanted - pinned), sorted(pinned - wanted)
        said = [f"missing {', '.join(missing)}"] if missing else []
        said += [f"not a remote dependency of Chart.lock: {', '.join(extra)}"] if extra else []
        message = f"'{path}' is out of date with Chart.lock: {'; '.join(said)}"
        yield document.diagnostic(("helm", "chart"), message, HINT)

"""Both sides of a diff, compiled in memory, and what differs between them."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelinegen import naming
from pipelinegen.diff.chart import ChartDiff
from pipelinegen.diff.generated import Committed, Drift, FileChange, drift, file_changes
from pipelinegen.diff.rules import RISK_ORDER, Change, Delta, Risk, View, summarize
from pipelinegen.errors import Diagnostic, SpecError
from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import Repository


@dataclass(frozen=True)
class Side:
    """One side: the spec (None when missing or invalid) and what it compiles to."""

    label: str
    present: bool
    spec: Spec | None
    files: dict[str, str]
    diagnostics: tuple[Diagnostic, ...]
    repository: Repository | None = None  # where its chart is read from (the chart diff)


@dataclass(frozen=True)
class Comparison:
    base: Side
    head: Side
    changes: tuple[Change, ...]
    files: tuple[FileChange, ...]
    drift: Drift = field(default_factory=Drift)

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.files)

    def at_least(self, risk: Risk) -> list[Change]:
        """The changes of `risk` or higher."""
        return [c for c in self.changes if RISK_ORDER[c.risk] <= RISK_ORDER[risk]]


def load_side(
    label: str, text: str | None, *, spec_path: str, file: str, repository: Repository | None
) -> Side:
    """Validate and compile one side; a missing spec is an empty side, an invalid one keeps its
    diagnostics (and compiles to nothing)."""
    if text is None:
        return Side(label, False, None, {}, ())
    try:
        spec = load(text, file=file, repository=repository)
    except SpecError as error:
        return Side(label, True, None, {}, tuple(error.diagnostics))
    files = render(spec, Source(spec_path, text))
    if repository is not None and (extension := _extension(repository)) is not None:
        files[naming.CDK_EXTENSION] = extension  # compared, and synthesized with the app
    return Side(label, True, spec, files, (), repository)


def _extension(repository: Repository) -> str | None:
    """The team's extend.py, when it is a regular file inside the repository (validate reports
    anything else)."""
    if repository.kind(naming.CDK_EXTENSION) != "file":
        return None
    try:
        return repository.read_text(naming.CDK_EXTENSION)
    except (OSError, UnicodeDecodeError):
        return None


def compare(
    base: Side,
    head: Side,
    committed: Committed | None = None,
    chart: ChartDiff | None = None,
) -> Comparison:
    """An invalid side has no meaning to compare: its diagnostics are the report. A missing
    side (a new adoption, or a removed spec) compares as empty, so everything is added. With
    `committed`, the head revision's generated files are compared with the head's compile."""
    found = drift(head.files, committed) if committed is not None and head.spec else Drift()
    valid = all(side.spec is not None or not side.present for side in (base, head))
    delta = Delta(
        View.of(base.spec, extension=base.files.get(naming.CDK_EXTENSION)),
        View.of(head.spec, extension=head.files.get(naming.CDK_EXTENSION)),
        found,
        chart or ChartDiff(),
    )
    changes = summarize(delta) if valid else summarize(Delta(View.of(None), View.of(None), found))
    return Comparison(
        base, head, tuple(changes), tuple(file_changes(base.files, head.files)), found
    )

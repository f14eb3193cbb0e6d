"""The regression check: each CLI figure's ratio to the import floor, against the committed one.

Run: .venv/bin/python benchmarks/regression.py [--quick]

Absolute times differ between machines and between a quiet and a busy hour; the ratio of a
command's time to the import floor's, both measured in the same interleaved run, does much less
(README, "How it measures"). So the check measures the floor and each figure side by side,
divides, and compares with the same ratio in the committed RESULTS.md (sections 1 and 2, by
command label). It divides fastest runs, not medians: a busy machine only ever adds time, so the
fastest of a few runs is the least disturbed, and the check can run in the test command on a
shared machine. A figure fails when its ratio exceeds the committed ratio by more than its
tolerance; exit 1 then, with one line per figure either way.

The full form checks the figures the bars of issue #27 name: cached `compile --check` at 1,000
images and `validate` with 5,000 errors, plus the examples. `--quick` checks the same kinds of
figure at 100 images and 500 errors with fewer runs (about ten seconds): the test command runs it
(tests/test_benchmarks.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import specs
from context import FLOOR, ROOT, Context, Plan
from report import TIMES
from timing import Command, CommandFailed, Timing, measure

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# How much a ratio may grow over the committed one before it counts as a regression, as a share
# of the committed ratio. Sub-floor figures (a cached check is under one floor) move more with
# noise in relative terms, so they get the wider margin; the regression was +97%.
TOLERANCE = 0.25
WIDE_TOLERANCE = 0.35
EXAMPLE = "full"


@dataclass(frozen=True)
class Form:
    """What one form of the check measures."""

    runs: int
    images: int  # the generated spec whose cached compile --check is timed
    errors: int  # the invalid spec whose validate is timed
    name: str


FULL = Form(12, 1000, 5000, "full")
QUICK = Form(5, 100, 500, "quick")


@dataclass(frozen=True)
class Verdict:
    label: str
    committed: float
    measured: float
    tolerance: float

    @property
    def limit(self) -> float:
        return self.committed * (1 + self.tolerance)

    @property
    def regressed(self) -> bool:
        return self.measured > self.limit

    def line(self) -> str:
        state = "REGRESSED" if self.regressed else "ok"
        return (
            f"{state:9} {self.label}: {self.measured:.2f}{TIMES} floor, fastest runs "
            f"(committed {self.committed:.2f}{TIMES}, limit {self.limit:.2f}{TIMES} "
            f"= +{self.tolerance:.0%})"
        )


def committed_ratios(text: str) -> dict[str, float]:
    """Command label → the ratio of its fastest run to the import floor's fastest run in the
    same table, from the timing tables of a RESULTS.md text (rows `| label | median | min | max
    | ...`, each table with its own `import floor` row). The first table naming a label wins."""
    found: dict[str, float] = {}
    floor: float | None = None
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        least = _seconds(cells[2]) if line.startswith("|") and len(cells) >= 5 else None
        if least is None:
            if not line.startswith("|"):
                floor = None  # a table ended
            continue
        if cells[0] == FLOOR:
            floor = least
        if floor:
            found.setdefault(cells[0], least / floor)
    return found


def _seconds(cell: str) -> float | None:
    """`125 ms` or `1.20 s` in seconds; None for any other cell."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?) (ms|s)", cell)
    if not match:
        return None
    return float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)


def tolerance(committed: float) -> float:
    """The tolerance of a figure whose committed ratio is `committed`."""
    return WIDE_TOLERANCE if committed < 1.0 else TOLERANCE


def compare(committed: dict[str, float], timings: dict[str, Timing]) -> list[Verdict]:
    """One verdict per measured figure (the floor aside); KeyError when a figure has no
    committed ratio to compare with."""
    floor = timings[FLOOR].low
    verdicts = []
    for label, timing in timings.items():
        if label == FLOOR:
            continue
        if label not in committed:
            raise KeyError(f"{label!r} has no committed ratio in {RESULTS.name}")
        ratio = timing.low / floor
        verdicts.append(Verdict(label, committed[label], ratio, tolerance(committed[label])))
    return verdicts


def commands(context: Context, form: Form) -> list[Command]:
    """The floor and the figures of `form`, each labelled as RESULTS.md labels it."""
    scaled = context.work / f"scale-{form.images}"
    scaled.mkdir()
    spec = specs.write_scaled_repository(scaled, form.images)
    context.run([str(context.cli), "compile", str(spec)], scaled)  # so the check is cached
    broken = context.work / f"errors-{form.errors}"
    broken.mkdir()
    invalid = specs.write_error_repository(broken, form.errors)
    example = f"examples/{EXAMPLE}/pipeline.yaml"
    return [
        context.floor(),
        context.pipelinegen(
            f"compile --check {form.images} images", "compile", "--check", str(spec)
        ),
        context.pipelinegen(
            f"validate {form.errors} errors", "validate", str(invalid), exit_code=1
        ),
        context.pipelinegen(f"compile --check {EXAMPLE}", "compile", "--check", example),
        context.pipelinegen(f"validate {EXAMPLE}", "validate", example),
    ]


def check(form: Form, results: Path = RESULTS) -> list[Verdict]:
    """Measure `form` and compare it with the committed results. A figure that regressed is
    measured once more, with all the others (the floor must be measured beside it), and keeps
    the better of its two ratios: a regression is one that shows twice, not a busy moment."""
    committed = committed_ratios(results.read_text(encoding="utf-8"))
    plan = Plan(form.runs, 0, 0, (form.images,), (form.errors,), form.name)
    with tempfile.TemporaryDirectory(prefix="pipelinegen-regression-") as work:
        context = Context(plan, Path(work))
        measured = commands(context, form)
        verdicts = compare(committed, measure("regression", measured, form.runs))
        if any(verdict.regressed for verdict in verdicts):
            again = compare(committed, measure("regression, again", measured, form.runs))
            pairs = zip(verdicts, again, strict=True)
            verdicts = [min(pair, key=lambda verdict: verdict.measured) for pair in pairs]
    return verdicts


def report(verdicts: Iterable[Verdict]) -> tuple[list[str], bool]:
    """The report's lines, and whether every figure held."""
    listed = list(verdicts)
    return [verdict.line() for verdict in listed], not any(v.regressed for v in listed)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 images, 500 errors, 5 runs")
    args = parser.parse_args()
    form = QUICK if args.quick else FULL
    # Under a test runner with coverage, its subprocess hooks would trace pipelinegen's code in
    # the measured commands (not the floor's): the ratios would measure the tracer.
    # And the CLI is measured as an installed one runs: with its bytecode cached (pip compiles
    # it), not compiling every module on every run as PYTHONDONTWRITEBYTECODE would make it.
    for name in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "PYTHONDONTWRITEBYTECODE"):
        os.environ.pop(name, None)
    try:
        lines, held = report(check(form))
    except (CommandFailed, KeyError) as error:
        print(f"regression check aborted: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    print(f"regression check ({form.name}): {'passed' if held else 'FAILED'}")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())

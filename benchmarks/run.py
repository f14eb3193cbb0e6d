"""Whole-process benchmarks of pipelinegen, measured side by side in one run (issue #6).

Run: .venv/bin/python benchmarks/run.py --write
Every command runs once to warm the caches, then several times interleaved round-robin with the
commands it is compared with; the report gives median, min and max wall times and the ratios of
medians measured in the same run, so they hold on a noisy machine. It covers: start-up against
the import floor, scaling with generated specs, diff against compile --check, synth against a
plain synth, peak memory, and CodeBuild actions per release. --quick measures fewer runs at
smaller scales (the bars it does not reach say "not measured"); --write saves the report to
benchmarks/RESULTS.md. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cost
import installs
import machine
import suites
from context import CLI, EXAMPLES, FULL, QUICK, ROOT, Context, Plan
from report import Bar, Section, table
from scaling import scaling
from timing import CommandFailed

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
COMMAND = ".venv/bin/python benchmarks/run.py"


def main() -> None:
    args = _arguments()
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    try:
        sections = _measure(plan)
    except CommandFailed as error:
        sys.exit(f"benchmark aborted: {error}")
    text = render(plan, sections, time.monotonic() - started)
    print(text, end="")
    if args.write:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller scales")
    parser.add_argument("--write", action="store_true", help=f"save to {RESULTS.name}")
    return parser.parse_args()


def _measure(plan: Plan) -> list[Section]:
    with tempfile.TemporaryDirectory(prefix="pipelinegen-bench-") as work:
        context = Context(plan, Path(work))
        startup = suites.startup(context)
        scaled = scaling(context)
        diff = suites.diff(context)
        synth = suites.synth(context)
        memory = suites.peak_memory(context, scaled.largest)
        shapes = [_example_shape(name) for name in EXAMPLES] + scaled.shapes
        costs = cost.section(shapes, synth.assembly)
        return [startup, scaled.section, diff, synth.section, memory, costs, installs.measure()]


def _example_shape(name: str) -> cost.Shape:
    return cost.Shape.read(name, ROOT / "examples" / name / "deploy/cdk/pipeline.json")


def render(plan: Plan, sections: list[Section], elapsed: float) -> str:
    """The whole report, bars first."""
    bars = [bar for section in sections for bar in section.bars]
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{COMMAND}{'' if plan is FULL else ' --quick'} --write` ({plan.name} "
        f"run, {elapsed / 60:.1f} minutes). Whole processes, wall time; medians after a "
        "warm-up, ratios of medians measured side by side in the same run.",
        "",
        "## Machine",
        "",
        *machine.describe(ROOT, CLI),
        "",
        "## Bars",
        "",
        _summary(bars),
        "",
        *_bar_table(bars),
    ]
    for section in sections:
        lines += ["", f"## {section.title}", "", *section.lines]
    return "\n".join(lines) + "\n"


def _summary(bars: list[Bar]) -> str:
    missed = [bar for bar in bars if bar.met is False]
    unmeasured = sum(bar.met is None for bar in bars)
    text = f"{len(bars) - len(missed) - unmeasured} of {len(bars)} bars met"
    if missed:
        text += f"; missed: {', '.join(f'#{bar.number} {bar.what}' for bar in missed)}"
    return text + (f"; {unmeasured} not measured." if unmeasured else ".")


def _bar_table(bars: list[Bar]) -> list[str]:
    rows = [[str(bar.number), bar.what, bar.measured, bar.verdict] for bar in bars]
    return table(("#", "bar", "measured", "verdict"), rows)


if __name__ == "__main__":
    main()

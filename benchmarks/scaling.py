"""Bar 2: compile and validate's error path on generated specs of growing size."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import specs
from context import FLOOR, Context
from cost import Shape
from report import TIMES, Bar, Section, at_most, below, ratio, seconds, table, timing_row
from timing import CommandFailed, Timing, measure

LINEAR_LIMIT = 11.0  # for ten times the size
LARGEST = 1000  # images: the largest generated spec, which must compile in...
LARGEST_LIMIT_S = 3.0  # ...under three seconds
ERRORS = 500  # the invalid spec whose error path must be linear


@dataclass(frozen=True)
class ScalingResult:
    section: Section
    shapes: list[Shape]  # of the compiled generated specs, for the cost table
    largest: tuple[str, Path]  # the largest compile's label and spec, for the memory table


def scaling(context: Context) -> ScalingResult:
    """Compile (full write and --check) per scale, and validate per error count, interleaved."""
    plan = context.plan
    scaled = {n: _scaled_repository(context, n) for n in plan.scales}
    errors = {e: _error_spec(context, e) for e in plan.error_counts}
    writes = {n: context.compile_fresh(_write_label(n), spec) for n, spec in scaled.items()}
    checks = {
        n: context.pipelinegen(_check_label(n), "compile", "--check", str(spec))
        for n, spec in scaled.items()
    }
    validates = {
        e: context.pipelinegen(_errors_label(e), "validate", str(spec), exit_code=1)
        for e, spec in errors.items()
    }
    commands = [context.floor(), *writes.values(), *checks.values(), *validates.values()]
    timings = measure("scaling", commands, plan.runs)
    section = Section("2. Scaling: generated specs")
    section.lines = [
        *_description(context, scaled),
        *_timing_table(timings),
        "",
        *_compile_steps(plan.scales, timings),
        "",
        *_error_steps(plan.error_counts, timings),
    ]
    section.bars = _bars(timings)
    shapes = [
        Shape.read(f"generated, {n} images", spec.parent / "deploy/cdk/pipeline.json")
        for n, spec in scaled.items()
    ]
    largest = max(plan.scales)
    return ScalingResult(section, shapes, (_write_label(largest), scaled[largest]))


def _scaled_repository(context: Context, images: int) -> Path:
    """The generated repository, compiled in place so that `compile --check` finds it current."""
    root = context.work / f"scale-{images}"
    root.mkdir()
    spec = specs.write_scaled_repository(root, images)
    context.run([str(context.cli), "compile", str(spec)], root)
    return spec


def _error_spec(context: Context, errors: int) -> Path:
    """The invalid repository; checked once to report exactly `errors` problems."""
    root = context.work / f"errors-{errors}"
    root.mkdir()
    spec = specs.write_error_repository(root, errors)
    argv = [str(context.cli), "validate", str(spec)]
    result = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    verdict = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    if result.returncode != 1 or not verdict.endswith(f": {errors} problems"):
        raise CommandFailed(f"{' '.join(argv)}: expected {errors} problems, got {verdict!r}")
    return spec


def _write_label(images: int) -> str:
    return f"compile {images} images (write)"


def _check_label(images: int) -> str:
    return f"compile --check {images} images"


def _errors_label(errors: int) -> str:
    return f"validate {errors} errors"


def _description(context: Context, scaled: dict[int, Path]) -> list[str]:
    rows = [
        [
            str(n),
            f"{specs.check_count(n)} + 2 presets",
            str(specs.environment_count(n)),
            "yes" if n <= specs.MARKETPLACE_MAX_IMAGES else "no (over its 50-image limit)",
            f"{len(spec.read_text(encoding='utf-8').splitlines())}",
        ]
        for n, spec in scaled.items()
    ]
    return [
        "Each generated spec is a complete repository in a temporary folder (Dockerfiles, chart "
        "with Chart.yaml, values files, usage instructions), so it validates with its path "
        "checks. Images: every third multi-arch, every fourth with a build argument. Command "
        "checks: N/2, cycling Python, Node, Go and Java, plus the gitleaks and trivy-image "
        "presets. Environments: max(2, N/20), over three accounts and three regions, the last "
        "with an approval. The invalid specs have one bad image name (upper case) per error.",
        "",
        *table(("images", "checks", "environments", "Marketplace", "spec lines"), rows),
        "",
        "`compile (write)` is `pipelinegen compile --out <new folder>`: every file written, on "
        "every run. `compile --check` runs on the generated repository after one compile in "
        "place, so it takes the compile cache's short way: it hashes the generated files and "
        f"re-checks the paths the spec names. {context.plan.runs} runs per command after a "
        "warm-up, interleaved. "
        "“Above floor” is the median less the import floor's: the work that grows with the spec.",
        "",
    ]


def _timing_table(timings: dict[str, Timing]) -> list[str]:
    floor = timings[FLOOR]
    rows = [[*timing_row(t, floor), _above(t, floor)] for t in timings.values()]
    return table(("command", "median", "min", "max", f"{TIMES} floor", "above floor"), rows)


def _above(timing: Timing, floor: Timing) -> str:
    return seconds(max(0.0, timing.median - floor.median))


def _compile_steps(scales: tuple[int, ...], timings: dict[str, Timing]) -> list[str]:
    floor = timings[FLOOR].median
    rows = []
    for small, large in itertools.pairwise(scales):
        write = [timings[_write_label(n)].median for n in (small, large)]
        check = [timings[_check_label(n)].median for n in (small, large)]
        rows.append(
            [
                f"{small} → {large} images",
                ratio(write[1] / write[0]),
                ratio(check[1] / check[0]),
                ratio((write[1] - floor) / max(write[0] - floor, 1e-3)),
            ]
        )
    headers = ("step", "compile (write)", "compile --check", "compile (write) above floor")
    return [
        f"Compile time ratios for ten times the images (linear: ≤ 11{TIMES}):",
        "",
        *table(headers, rows),
    ]


def _error_steps(counts: tuple[int, ...], timings: dict[str, Timing]) -> list[str]:
    floor = timings[FLOOR].median
    rows = []
    for small, large in itertools.pairwise(counts):
        times = [timings[_errors_label(n)].median for n in (small, large)]
        per_error = (times[1] - floor) / large * 1e6
        rows.append(
            [
                f"{small} → {large} errors",
                ratio(times[1] / times[0]),
                ratio((times[1] - floor) / max(times[0] - floor, 1e-3)),
                f"{per_error:.0f} µs",
            ]
        )
    headers = ("step", "validate", "validate above floor", "above floor, per error")
    return [
        f"validate's error path, ten times the errors (linear: ≤ 11{TIMES}):",
        "",
        *table(headers, rows),
    ]


def _bars(timings: dict[str, Timing]) -> list[Bar]:
    """The bars at the issue's sizes; those a --quick run does not reach are 'not measured'."""
    small, large = LARGEST // 10, LARGEST
    largest = _median(timings, _write_label(large))
    what = f"compile (write) {large} images < {LARGEST_LIMIT_S:.0f} s"
    return [
        _linear(timings, _write_label, (small, large), "compile (write) {} → {} images"),
        below(2, what, largest, LARGEST_LIMIT_S, "s"),
        _linear(timings, _errors_label, (ERRORS // 10, ERRORS), "validate {} → {} errors"),
        _linear(timings, _errors_label, (ERRORS, ERRORS * 10), "validate {} → {} errors"),
    ]


def _linear(
    timings: dict[str, Timing], label: Callable[[int], str], sizes: tuple[int, int], what: str
) -> Bar:
    """Ten times the size takes at most 11 times as long; `what` gets the two sizes."""
    before, after = (_median(timings, label(size)) for size in sizes)
    step = after / before if before is not None and after is not None else None
    return at_most(2, f"{what.format(*sizes)} ≤ {LINEAR_LIMIT:.0f}{TIMES}", step, LINEAR_LIMIT)


def _median(timings: dict[str, Timing], label: str) -> float | None:
    return timings[label].median if label in timings else None

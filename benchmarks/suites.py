"""The measurements that compare pipelinegen with a reference in the same run (bars 1, 3, 4, 5)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import memory
import specs
from context import EXAMPLES, FLOOR, FLOOR_IMPORTS, Context, synth_environment
from report import TIMES, TIMING_HEADERS, Section, at_most, below, table, timing_row
from timing import Command, Timing, measure, progress, progress_done

STARTUP_LIMIT = 1.6
DIFF_LIMIT = 2.5
SYNTH_LIMIT = 1.1
MEMORY_LIMIT_MB = 100.0
ADDED_CHECK = "bench-added"
ROOT_SPEC = Path("examples/full/pipeline.yaml")
GIT = (
    "git",
    "-c",
    "user.name=bench",
    "-c",
    "user.email=b@example.com",
    "-c",
    "commit.gpgsign=false",
)


def startup(context: Context) -> Section:
    """Bar 1: validate and compile --check on each example, against the import floor; also
    compile --check with the compile cache off, for the record."""
    commands = [context.floor()]
    uncached = []
    for name in EXAMPLES:
        spec = f"examples/{name}/pipeline.yaml"
        commands.append(context.pipelinegen(f"validate {name}", "validate", spec))
        commands.append(context.pipelinegen(f"compile --check {name}", "compile", "--check", spec))
        label = f"compile --check {name}, no cache"
        uncached.append(context.pipelinegen(label, "compile", "--check", spec, cache=False))
    timings = measure("start-up", [*commands, *uncached], context.plan.runs)
    floor = timings[FLOOR]
    section = Section("1. Start-up: each example against the import floor")
    section.lines = [
        f'The floor is `python -c "{FLOOR_IMPORTS}"`: importing pipelinegen\'s '
        f"libraries and doing nothing. {context.plan.runs} runs per command after a warm-up, "
        "interleaved; the ratio is of medians.",
        "",
        "`compile --check` runs as users run it, with the compile cache (README, “The compile "
        "cache”): the warm-up run fills it, as the `compile` before a commit does, and each "
        "measured run then hashes the generated files and re-checks the paths the spec names, "
        "without loading the models or the templates. The rows marked “no cache” "
        "(`PIPELINEGEN_NO_CACHE=1`) validate and render every time, as the first check after "
        "a spec or pipelinegen changes does; no bar applies to them.",
        "",
        *table((*TIMING_HEADERS, f"{TIMES} floor"), _rows(timings, floor)),
    ]
    limit = f"≤ {STARTUP_LIMIT}{TIMES} floor"
    section.bars = [
        at_most(
            1,
            f"`{command.label}` {limit}",
            timings[command.label].median / floor.median,
            STARTUP_LIMIT,
        )
        for command in commands[1:]
    ]
    return section


def diff(context: Context) -> Section:
    """Bar 3: `pipelinegen diff` (no synth) against `compile --check`, on one changed copy."""
    repository = _changed_repository(context)
    diff_command = context.pipelinegen("diff full", "diff", "pipeline.yaml", cwd=repository)
    check = context.pipelinegen(
        "compile --check full (changed copy)",
        "compile",
        "--check",
        "pipeline.yaml",
        cwd=repository,
        exit_code=1,  # the spec changed, so the committed outputs are stale
    )
    verdict = context.run([str(context.cli), "diff", "pipeline.yaml"], repository).splitlines()[1]
    timings = measure("diff", [diff_command, check], context.plan.runs)
    ratio = timings[diff_command.label].median / timings[check.label].median
    section = Section("3. `pipelinegen diff` against `compile --check`")
    section.lines = [
        "A copy of examples/full is committed to a new git repository, then one command check "
        f"(`{ADDED_CHECK}`) is added to the spec in the working tree. `pipelinegen diff` compares "
        "HEAD with the working tree (both sides compiled in memory, no synth); it reported "
        f"“{verdict}”. `compile --check` runs on the same copy and exits 1, as the committed "
        "outputs no longer match the spec (it renders once and diffs the stale files).",
        "",
        *table((*TIMING_HEADERS, f"{TIMES} compile --check"), _rows(timings, timings[check.label])),
    ]
    what = f"`diff` ≤ {DIFF_LIMIT}{TIMES} `compile --check`"
    section.bars = [at_most(3, what, ratio, DIFF_LIMIT)]
    return section


def _changed_repository(context: Context) -> Path:
    """A committed copy of examples/full, with one check added in the working tree."""
    repository = context.copy_example("full", "diff-full")
    context.run([*GIT, "init", "--quiet", "--initial-branch=main"], repository)
    context.run([*GIT, "add", "--all"], repository)
    context.run([*GIT, "commit", "--quiet", "--message=base"], repository)
    specs.add_check(repository / "pipeline.yaml", ADDED_CHECK)
    return repository


@dataclass(frozen=True)
class SynthResult:
    section: Section
    assembly: Path  # one cloud assembly pipelinegen synthesized


def synth(context: Context) -> SynthResult:
    """Bar 4: `pipelinegen synth` against running the compiled app itself, in the same run."""
    repository = context.copy_example("full", "synth-full")
    # Recompiled so the plain app is exactly what this pipelinegen generates and synthesizes.
    context.run([str(context.cli), "compile", "pipeline.yaml"], repository)
    ours, plain, assemblies = _synth_commands(context, repository)
    timings = measure("synth", [ours, plain], context.plan.synth_runs)
    ratio = timings[ours.label].median / timings[plain.label].median
    section = Section("4. `pipelinegen synth` against a plain synth of the same app")
    section.lines = [
        "`pipelinegen synth pipeline.yaml --out <new folder>` (compile in memory, write the app to "
        "a temporary folder, run it) against `python app.py` in the compiled copy's "
        "deploy/cdk with `CDK_OUTDIR=<new folder>` (set with `env`), both on examples/full, "
        f"{context.plan.synth_runs} runs each after a warm-up, interleaved.",
        "",
        *table((*TIMING_HEADERS, f"{TIMES} plain synth"), _rows(timings, timings[plain.label])),
    ]
    section.bars = [at_most(4, f"`synth` ≤ {SYNTH_LIMIT}{TIMES} plain synth", ratio, SYNTH_LIMIT)]
    return SynthResult(section, assemblies / "run-0")


def _synth_commands(context: Context, repository: Path) -> tuple[Command, Command, Path]:
    """pipelinegen's synth, the plain one, and where pipelinegen's assemblies go."""
    environment = synth_environment()
    ours_out = context.fresh_outputs("pipelinegen synth full")
    plain_out = context.fresh_outputs("plain synth full")
    spec = str(repository / "pipeline.yaml")

    def ours(run: int) -> list[str]:
        return [str(context.cli), "synth", spec, "--out", str(ours_out / f"run-{run}")]

    def plain(run: int) -> list[str]:
        return ["env", f"CDK_OUTDIR={plain_out / f'run-{run}'}", str(context.python), "app.py"]

    cdk_app = repository / "deploy" / "cdk"
    return (
        Command("pipelinegen synth full", ours, repository, environment),
        Command("plain synth full (python app.py)", plain, cdk_app, environment),
        ours_out,
    )


def peak_memory(context: Context, largest: tuple[str, Path] | None) -> Section:
    """Bar 5: the peak resident memory of compile (a full write) on examples/full; also the
    floor, validate, and the largest generated spec's compile (`largest`: label, spec)."""
    compile_full = context.compile_fresh("compile full (write)", ROOT_SPEC)
    floor = context.floor()
    validate = context.pipelinegen("validate full", "validate", str(ROOT_SPEC))
    extra = [context.compile_fresh(*largest)] if largest else []
    commands = [floor, validate, compile_full, *extra]
    peaks = _peaks(commands, context.plan.memory_runs)
    section = Section("5. Peak memory")
    section.lines = [
        f"Maximum resident set size by {memory.method()}, {context.plan.memory_runs} runs each "
        "after a warm-up; MB are 10^6 bytes.",
        "",
        *table(
            ("command", "median", "max"),
            [[label, f"{statistics.median(v):.1f} MB", f"{max(v):.1f} MB"] for label, v in peaks],
        ),
    ]
    worst = max(dict(peaks)[compile_full.label])
    section.bars = [
        below(5, f"`compile` full, peak < {MEMORY_LIMIT_MB:.0f} MB", worst, MEMORY_LIMIT_MB, "MB")
    ]
    return section


def _peaks(commands: list[Command], runs: int) -> list[tuple[str, list[float]]]:
    peaks: dict[str, list[float]] = {command.label: [] for command in commands}
    for round_ in range(runs + 1):
        progress("memory", round_, runs)
        for command in commands:
            value = memory.peak_mb(command, round_)
            if round_:
                peaks[command.label].append(value)
    progress_done()
    return list(peaks.items())


def _rows(timings: dict[str, Timing], reference: Timing) -> list[list[str]]:
    return [timing_row(t, reference) for t in timings.values()]

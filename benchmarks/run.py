"""Whole-process benchmarks, measured side by side in one run so ratios hold on a noisy machine.

Run: .venv/bin/python benchmarks/run.py [--runs N] [--write]
Each command runs once to warm the caches, then N times interleaved with the others; the report
gives median, min and max wall time, and each command's ratio to the import floor (the time to
import pipelinegen's libraries and do nothing). --write saves the report to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLOOR = "import floor"
BARS = {"validate full": 0.250}  # seconds, whole process (issue: validate under 250 ms)


def commands() -> dict[str, list[str]]:
    cli = str(BIN / "pipelinegen")
    examples = sorted(p.parent.name for p in (ROOT / "examples").glob("*/pipeline.yaml"))
    measured = {FLOOR: [sys.executable, "-c", "import pydantic, jinja2, ruamel.yaml, click"]}
    for name in examples:
        spec = f"examples/{name}/pipeline.yaml"
        measured[f"validate {name}"] = [cli, "validate", spec]
        measured[f"compile --check {name}"] = [cli, "compile", "--check", spec]
    return measured


def measure(runs: int) -> dict[str, list[float]]:
    todo = commands()
    times: dict[str, list[float]] = {name: [] for name in todo}
    for round_ in range(runs + 1):
        for name, argv in todo.items():
            start = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
            if round_:  # round 0 is the warm-up
                times[name].append(time.perf_counter() - start)
    return times


def report(times: dict[str, list[float]]) -> str:
    floor = statistics.median(times[FLOOR])
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", {platform.system()} {platform.release()}. Runs per command: {len(times[FLOOR])}.",
        "",
        "| command | median | min | max | ratio to floor | bar |",
        "|---|---|---|---|---|---|",
    ]
    for name, samples in times.items():
        median = statistics.median(samples)
        bar = BARS.get(name)
        verdict = (
            "" if bar is None else f"< {bar * 1000:.0f} ms: {'met' if median < bar else 'MISSED'}"
        )
        lines.append(
            f"| {name} | {median * 1000:.0f} ms | {min(samples) * 1000:.0f} ms | "
            f"{max(samples) * 1000:.0f} ms | {median / floor:.2f} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="save to benchmarks/RESULTS.md")
    args = parser.parse_args()
    text = report(measure(args.runs))
    print(text, end="")
    if args.write:
        (ROOT / "benchmarks" / "RESULTS.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

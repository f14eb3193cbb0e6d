"""Timing whole processes, side by side: every command once per round, rounds repeated.

Round 0 warms the caches (disk, bytecode, the dynamic loader) and is discarded. Within a round the
commands run one after the other, and each round starts one command later than the last, so any
slow spell on a noisy machine falls on every command alike; the ratios between their medians are
then far steadier than the times themselves.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Argv = Callable[[int], Sequence[str]]  # the run's index → the command line (fresh outputs)


class CommandFailed(RuntimeError):
    """A benchmarked command exited with a status it should not have."""


def fixed(*argv: str) -> Argv:
    """The same command line on every run."""
    return lambda _run: argv


@dataclass(frozen=True)
class Command:
    """One command to time: how to start it, where, and which exit statuses are its success."""

    label: str
    argv: Argv
    cwd: Path
    env: Mapping[str, str] | None = None
    exit_codes: frozenset[int] = frozenset({0})


@dataclass
class Timing:
    """The wall times of one command's measured runs, in seconds."""

    label: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


def measure(name: str, commands: Sequence[Command], runs: int) -> dict[str, Timing]:
    """Time each command `runs` times after one warm-up round, interleaved round-robin."""
    timings = {command.label: Timing(command.label) for command in commands}
    for round_ in range(runs + 1):
        progress(name, round_, runs)
        for command in _rotated(commands, round_):
            elapsed = run_once(command, round_)
            if round_:  # round 0 is the warm-up
                timings[command.label].samples.append(elapsed)
    progress_done()
    return timings


def run_once(command: Command, run: int) -> float:
    """The wall time of one run; CommandFailed (with its output) on an unexpected exit status."""
    argv = list(command.argv(run))
    start = time.perf_counter()
    result = subprocess.run(
        argv,
        cwd=command.cwd,
        env=command.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in command.exit_codes:
        raise CommandFailed(_failure(command, argv, result.returncode))
    return elapsed


def _rotated(commands: Sequence[Command], round_: int) -> list[Command]:
    shift = round_ % len(commands)
    return [*commands[shift:], *commands[:shift]]


def _failure(command: Command, argv: list[str], status: int) -> str:
    """Run the command again, capturing its output, to say why it failed."""
    again = subprocess.run(
        argv, cwd=command.cwd, env=command.env, capture_output=True, text=True, check=False
    )
    tail = "\n".join((again.stdout + again.stderr).strip().splitlines()[-20:])
    return f"{command.label}: exit {status} (expected {sorted(command.exit_codes)})\n{tail}"


def progress(name: str, round_: int, runs: int) -> None:
    what = "warm-up" if round_ == 0 else f"round {round_}/{runs}"
    print(f"\r  {name}: {what}   ", end="", file=sys.stderr, flush=True)


def progress_done() -> None:
    print(file=sys.stderr, flush=True)

"""Peak memory (maximum resident set size) of whole processes.

GNU time's `%M` when /usr/bin/time is there; otherwise a fresh Python child runs the command and
reports `getrusage(RUSAGE_CHILDREN).ru_maxrss`, which then covers that one command alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from timing import Command, CommandFailed

GNU_TIME = Path("/usr/bin/time")
_RUSAGE_CHILD = (
    "import resource, subprocess, sys\n"
    "status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, status)\n"
)


def method() -> str:
    return "GNU time `%M`" if GNU_TIME.exists() else "getrusage(RUSAGE_CHILDREN) in a fresh child"


def peak_mb(command: Command, run: int) -> float:
    """The command's peak resident memory in MB (10^6 bytes), for one run."""
    argv = list(command.argv(run))
    kib, status = (
        _with_gnu_time(command, argv) if GNU_TIME.exists() else _with_rusage(command, argv)
    )
    if status not in command.exit_codes:
        raise CommandFailed(f"{command.label}: exit {status} under the memory probe")
    return kib * 1024 / 1e6


def _with_gnu_time(command: Command, argv: list[str]) -> tuple[int, int]:
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        result = subprocess.run(
            [str(GNU_TIME), "-f", "%M", "-o", report.name, *argv],
            cwd=command.cwd,
            env=command.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return int(Path(report.name).read_text(encoding="utf-8").split()[-1]), result.returncode


def _with_rusage(command: Command, argv: list[str]) -> tuple[int, int]:
    result = subprocess.run(
        [sys.executable, "-c", _RUSAGE_CHILD, *argv],
        cwd=command.cwd,
        env=command.env,
        capture_output=True,
        text=True,
        check=True,
    )
    kib, status = result.stdout.split()
    return int(kib), int(status)

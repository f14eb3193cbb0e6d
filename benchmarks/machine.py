"""A description of the machine and the code under test, for the top of the report."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def describe(root: Path, pipelinegen: Path) -> list[str]:
    """Markdown bullet lines: hardware, software, and which pipelinegen was measured."""
    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores",
        f"- Memory: {_memory_gib():.1f} GiB",
        f"- OS: {_os_name()} (kernel {platform.release()}, {platform.machine()})",
        f"- Python {platform.python_version()}, Node {_output(['node', '--version']) or 'absent'}",
        f"- {_output([str(pipelinegen), '--version'])}, commit {_commit(root)}",
        f"- Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return platform.system()


def _commit(root: Path) -> str:
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]) or "unknown"
    changed = _output(["git", "-C", str(root), "status", "--porcelain", "--", "pipelinegen"])
    return f"{commit} + uncommitted changes in pipelinegen/" if changed else commit


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _output(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()

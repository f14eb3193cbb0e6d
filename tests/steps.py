"""Running the shell steps of a workflow job or a composite action as the runner would.

A step's `run:` goes to `bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`) with the
step's `env:`; `${{ … }}` in those values is replaced from `expressions`. Steps that `uses:` an
action are the caller's to stand in for (setup-python: a venv first on PATH).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def shell_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps that run a shell script, in order."""
    return [step for step in steps if "run" in step]


def run_step(
    step: Mapping[str, Any],
    *,
    cwd: Path,
    env: Mapping[str, str],
    expressions: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one `run:` step; its output (stdout and stderr together) and exit code."""
    known = expressions or {}

    def evaluate(match: re.Match[str]) -> str:
        return known[match.group(1)]

    step_env = {k: _EXPRESSION.sub(evaluate, str(v)) for k, v in step.get("env", {}).items()}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env={**os.environ, **env, **step_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )

"""What a benchmark run needs: the plan (runs and scales), the tools, and a scratch directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from timing import Command, CommandFailed, fixed

ROOT = Path(__file__).resolve().parent.parent
FLOOR_IMPORTS = "import pydantic, jinja2, ruamel.yaml, click"
FLOOR = "import floor"
PYTHON = Path(sys.executable)  # the venv's interpreter: the one pipelinegen runs on
CLI = PYTHON.parent / "pipelinegen"
EXAMPLES = tuple(sorted(p.parent.name for p in (ROOT / "examples").glob("*/pipeline.yaml")))


@dataclass(frozen=True)
class Plan:
    """How much to measure: runs per command and the sizes of the generated specs."""

    runs: int  # the fast commands (about 0.2-0.6 s each)
    synth_runs: int  # synth takes seconds
    memory_runs: int
    scales: tuple[int, ...]  # images in the generated specs
    error_counts: tuple[int, ...]  # errors in the invalid specs
    name: str


FULL = Plan(20, 11, 5, (10, 100, 1000), (50, 500, 5000), "full")
QUICK = Plan(4, 2, 2, (10, 100), (50, 500), "quick")


@dataclass(frozen=True)
class Context:
    """The plan, the interpreter and CLI under test, and the run's scratch directory."""

    plan: Plan
    work: Path
    python: Path = PYTHON
    cli: Path = CLI

    def pipelinegen(
        self, label: str, *args: str, cwd: Path = ROOT, exit_code: int = 0, cache: bool = True
    ) -> Command:
        """A pipelinegen command with fixed arguments; with the run's compile cache, or none."""
        argv = fixed(str(self.cli), *args)
        return Command(label, argv, cwd, self.environment(cache), frozenset({exit_code}))

    def environment(self, cache: bool = True) -> dict[str, str]:
        """The environment pipelinegen runs in: the compile cache in the scratch directory (so
        no run depends on the user's), or turned off."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINEGEN_")}
        if cache:
            return {**environment, "PIPELINEGEN_CACHE_DIR": str(self.work / "cache")}
        return {**environment, "PIPELINEGEN_NO_CACHE": "1"}

    def floor(self) -> Command:
        """Importing pipelinegen's libraries and doing nothing: the least a run can cost."""
        return Command(FLOOR, fixed(str(self.python), "-c", FLOOR_IMPORTS), ROOT)

    def fresh_outputs(self, label: str) -> Path:
        """A new directory under which each run writes into its own new folder."""
        parent = self.work / "out"
        parent.mkdir(exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        return Path(tempfile.mkdtemp(prefix=f"{slug}-", dir=parent))

    def compile_fresh(self, label: str, spec: Path) -> Command:
        """`pipelinegen compile --out <new folder>`: a full write on every run."""
        outputs = self.fresh_outputs(label)

        def argv(run: int) -> list[str]:
            return [str(self.cli), "compile", "--out", str(outputs / f"run-{run}"), str(spec)]

        return Command(label, argv, ROOT, self.environment())

    def copy_example(self, name: str, as_name: str) -> Path:
        """A copy of an example repository (with its compiled outputs) in the scratch directory."""
        target = self.work / as_name
        ignore = shutil.ignore_patterns("cdk.out", "__pycache__")
        shutil.copytree(ROOT / "examples" / name, target, ignore=ignore)
        return target

    def run(self, argv: list[str], cwd: Path) -> str:
        """Set-up work, not timed: run to completion, fail loudly, return stdout."""
        result = subprocess.run(
            argv, cwd=cwd, env=self.environment(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise CommandFailed(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout


def synth_environment() -> dict[str, str]:
    """The environment for CDK synths: the pinned Node.js LTS (tests/node) first on PATH, so
    jsii runs on a release it supports and prints no end-of-life banner."""
    node = Path(__file__).resolve().parent.parent / "tests" / "node" / "node_modules" / ".bin"
    return {**os.environ, "PATH": os.pathsep.join([str(node), os.environ.get("PATH", "")])}

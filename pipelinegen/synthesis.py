"""Running a compiled CDK app to get its CloudFormation templates (`synth`, `diff --synth`).

The app is written from memory into a temporary folder and run the way the CDK CLI runs it
(`python app.py` with CDK_OUTDIR), by the current Python, which must have aws-cdk-lib.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipelinegen import naming
from pipelinegen.errors import UserError

# jsii 1.142 (aws-cdk-lib's runtime) tests Node.js 22 and 24 and calls 20 end-of-life (its
# NodeRelease table: 20 ends 2026-04-30, 22 on 2027-04-30, 24 on 2028-04-30).
NODE_MIN = 22
NODE_HINT = "install a Node.js LTS the AWS CDK supports: 24 (or 22)"


def synthesize(files: dict[str, str], out: Path) -> dict[str, dict[str, Any]]:
    """Synthesize the CDK app among `files` into `out`; return the templates by stack name."""
    require_toolchain()
    prefix = f"{naming.CDK_APP_DIR}/"
    with tempfile.TemporaryDirectory(prefix="pipelinegen-synth-") as work:
        for path, content in files.items():
            if path.startswith(prefix):
                destination = Path(work) / path.removeprefix(prefix)
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_text(content, encoding="utf-8")
        _run(Path(work), out)
    return {
        template.name.removesuffix(".template.json"): json.loads(template.read_text())
        for template in sorted(out.glob("*.template.json"))
    }


def require_toolchain() -> None:
    if importlib.util.find_spec("aws_cdk") is None:
        raise UserError(
            "aws-cdk-lib is not installed in this Python",
            f"pip install -r {naming.CDK_APP_DIR}/requirements.txt (in {sys.prefix})",
        )
    node = shutil.which("node")
    if node is None:
        raise UserError("Node.js is not on PATH", NODE_HINT)
    major = _node_major(node)
    if major is not None and major < NODE_MIN:
        raise UserError(f"Node.js {major} is end-of-life for the AWS CDK", NODE_HINT)


def _node_major(node: str) -> int | None:
    """The major version `node --version` reports (`v24.21.0` → 24); None if it says none."""
    try:
        done = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    major = done.stdout.strip().removeprefix("v").split(".", 1)[0]
    return int(major) if major.isdigit() else None


def _run(app: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    environment = {**os.environ, "CDK_OUTDIR": str(out.resolve())}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=app,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise UserError(f"the CDK app failed to synthesize:\n{tail}")

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
    if shutil.which("node") is None:
        raise UserError("Node.js is not on PATH", "the AWS CDK runs on Node.js 20 or newer")


def _run(app: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(out.resolve()),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
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

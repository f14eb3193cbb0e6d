"""`pipelinegen synth`: compile in memory, then synthesize the CDK app into CloudFormation."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from pipelinegen import naming
from pipelinegen.cli.options import spec_argument
from pipelinegen.cli.read import read_spec
from pipelinegen.errors import UserError


@click.command("synth")
@spec_argument
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the cloud assembly. Default: deploy/cdk/cdk.out beside the spec.",
)
def command(spec: Path, out: Path | None) -> None:
    """Synthesize SPEC's CDK app into CloudFormation templates, without writing the app.

    Needs aws-cdk-lib in this Python (pip install -r deploy/cdk/requirements.txt) and Node.js.
    """
    from pipelinegen.render import Source, render  # the templates: synth's own cost

    validated, text = read_spec(spec)
    files = render(validated, Source(path=spec.name, text=text))
    target = (out or spec.parent / naming.CDK_APP_DIR / "cdk.out").resolve()
    _require_toolchain()
    with tempfile.TemporaryDirectory(prefix="pipelinegen-synth-") as work:
        for path, content in files.items():
            if path.startswith(f"{naming.CDK_APP_DIR}/"):
                destination = Path(work) / path.removeprefix(f"{naming.CDK_APP_DIR}/")
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_text(content, encoding="utf-8")
        _synthesize(Path(work), target)
    templates = sorted(target.glob("*.template.json"))
    for template in templates:
        click.echo(template)
    click.echo(f"synthesized {len(templates)} stacks into {target}")


def _require_toolchain() -> None:
    if importlib.util.find_spec("aws_cdk") is None:
        raise UserError(
            "aws-cdk-lib is not installed in this Python",
            f"pip install -r {naming.CDK_APP_DIR}/requirements.txt (in {sys.prefix})",
        )
    if shutil.which("node") is None:
        raise UserError("Node.js is not on PATH", "the AWS CDK runs on Node.js 20 or newer")


def _synthesize(app: Path, target: Path) -> None:
    """Run the app as the CDK CLI would, with the output directory it would pass."""
    if target.exists():
        shutil.rmtree(target)
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(target),
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

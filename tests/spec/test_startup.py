"""What validate imports: the start-up budget is part of the product (see benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys
from pipelinegen.cli import cli
cli.main(["validate", sys.argv[1]], standalone_mode=False)
print(json.dumps(sorted(m for m in sys.argv[2:] if m in sys.modules)))
"""


def test_validate_of_a_valid_spec_leaves_heavy_modules_unloaded() -> None:
    """No plugin scan through importlib.metadata (see spec/no_plugins.py), no templates, no
    CDK, no error wording: a valid spec needs none of them."""
    heavy = ["importlib.metadata", "jinja2", "aws_cdk", "difflib", "pipelinegen.spec.diagnostics"]
    spec = str(ROOT / "examples" / "full" / "pipeline.yaml")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, spec, *heavy], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []

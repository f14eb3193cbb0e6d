"""Compiled outputs of every example and test spec, in both delivery modes, shared by the render
tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipelinegen import naming
from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from tests.conftest import EXAMPLES, ROOT

TEST_SPECS = sorted((ROOT / "tests" / "render" / "specs").glob("*.yaml"))


def all_specs() -> dict[str, Path]:
    """Every example and test spec by a short name."""
    specs = {f"example-{folder.name}": folder / "pipeline.yaml" for folder in EXAMPLES}
    specs.update({f"spec-{path.stem}": path for path in TEST_SPECS})
    return specs


DELIVERY = re.compile(r"^delivery: (aws|github)\n", re.MULTILINE)
GITHUB_BLOCK = re.compile(r"^github:", re.MULTILINE)


def in_other_mode(text: str) -> str:
    """The spec with `delivery` flipped: `github` for a spec in the default mode (inserted
    before its `github:` block), `aws` for one that says `delivery: github`."""
    if DELIVERY.search(text):
        return DELIVERY.sub(
            lambda m: f"delivery: {'aws' if m[1] == 'github' else 'github'}\n", text
        )
    return GITHUB_BLOCK.sub("delivery: github\ngithub:", text, count=1)


def delivery(text: str) -> str:
    """The spec's delivery mode, read from its text."""
    found = DELIVERY.search(text)
    return found[1] if found else "aws"


def spec_texts() -> dict[str, str]:
    """Every example and test spec, and each in the other delivery mode (`<name>-flipped`)."""
    texts = {}
    for name, path in all_specs().items():
        text = path.read_text(encoding="utf-8")
        texts[name] = text
        texts[f"{name}-flipped"] = in_other_mode(text)
    return texts


def compile_text(text: str) -> dict[str, str]:
    """The pure core, without the path checks (test specs name files that do not exist)."""
    return render(load(text, file="pipeline.yaml"), Source("pipeline.yaml", text))


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each spec compiled into a folder of its own, under one shared parent."""
    parent = tmp_path_factory.mktemp("compiled")
    roots = {}
    for name, spec in spec_texts().items():
        root = parent / name
        for path, text in compile_text(spec).items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        roots[name] = root
    return roots


def _synth(root: Path) -> Path:
    """Run the compiled CDK app the way the CDK CLI does (CDK_OUTDIR set); return the assembly."""
    out = root / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=root / naming.CDK_APP_DIR,
        env={**os.environ, "CDK_OUTDIR": str(out)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def synthesized(compiled: dict[str, Path]) -> dict[str, Path]:
    """One real synth per spec (about 5 s each), two at a time, shared by every CDK test."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(compiled, pool.map(_synth, compiled.values()), strict=True))

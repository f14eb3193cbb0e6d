"""The diagrams are parsed by Mermaid itself (pinned in tests/mermaid/package.json, run by
Node.js with jsdom): the examples', highlighted ones, and labels full of hostile text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest

from pipelinegen import naming
from pipelinegen.graph.flow import flow
from pipelinegen.graph.mermaid import Graph, Node, graph, render
from tests.conftest import EXAMPLES, ROOT
from tests.graph.test_graph import DEV, spec

MERMAID_DIR: Final = ROOT / "tests" / "mermaid"
SETUP: Final = "npm ci --prefix tests/mermaid --ignore-scripts --no-audit --no-fund"
HOSTILE: Final = 'a"]; x --> y[<img src=x onerror=alert(1)>`#35; end\n%% {init: {}}'


def diagrams() -> dict[str, str]:
    found = {
        example.name: (example / naming.DIAGRAM)
        .read_text()
        .split("```mermaid\n")[1]
        .split("```")[0]
        for example in EXAMPLES
    }
    base = graph(flow(spec()))
    moved = graph(
        flow(
            spec(
                ("    marketplace: true\n", ""),
                (DEV, DEV + "    marketplace: true\n"),
                ("    approval: true\n", ""),
                ("checks:\n", "checks:\n  - name: docs\n    run: make docs\n"),
            )
        )
    )
    found["highlighted"] = render(moved, base=base)
    found["adopted"] = render(base, base=Graph("", (), ()))
    hostile = Graph(
        "", (Node("ci", "box", (HOSTILE, HOSTILE)), Node("end_", "gate", (HOSTILE,))), ()
    )
    found["hostile"] = render(hostile)
    return found


def parse(files: list[Path]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is needed (see scripts/test)"
    assert (MERMAID_DIR / "node_modules" / "mermaid").is_dir(), f"run: {SETUP}"
    return subprocess.run(
        [node, str(MERMAID_DIR / "parse.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_mermaid_parses_every_diagram(tmp_path: Path) -> None:
    files = []
    for name, source in diagrams().items():
        path = tmp_path / f"{name}.mmd"
        path.write_text(source)
        files.append(path)
    broken = tmp_path / "broken.mmd"
    broken.write_text('flowchart TD\n  a["x"] -> \n')  # so the check can fail
    result = parse([*files, broken])
    lines = result.stdout.splitlines()
    assert lines[:-1] == [f"ok {path}" for path in files], result.stdout + result.stderr
    assert lines[-1].startswith(f"FAIL {broken}: Parse error")
    assert result.returncode == 1


@pytest.mark.parametrize("name", ["hostile"])
def test_hostile_labels_are_entity_codes(name: str) -> None:
    source = diagrams()[name]
    assert '"' not in source.replace('["', "").replace('"]', "").replace('{{"', "").replace(
        '"}}', ""
    )
    assert "<img" not in source and "`" not in source and "%%" not in source

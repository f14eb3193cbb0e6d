"""The flow model and its Mermaid diagram: the approvals before each stage, escaping, and the
highlights a change gets."""

from __future__ import annotations

import re

from click.testing import CliRunner

from pipelinegen import naming
from pipelinegen.cli import cli
from pipelinegen.graph.flow import Target, flow
from pipelinegen.graph.mermaid import _escape, changed, graph, render
from tests.conftest import EXAMPLES, ROOT, full_spec

DEV = (
    "  - name: dev\n    cluster: acme-dev\n    namespace: platform\n"
    "    values: [deploy/helm/values-dev.yaml]\n"
)


spec = full_spec


def test_the_approvals_before_each_stage() -> None:
    full = flow(spec())
    assert [(d.environment, d.gates) for d in full.deploys] == [
        ("dev", ()),
        ("staging", ()),
        ("prod", ("prod",)),
    ]
    assert full.marketplace is not None and full.marketplace.gates == ("prod",)
    prod = Target("333333333333", "us-west-2", "acme-prod")
    assert full.gates_to(prod) == ("prod",) and full.gates_to_account("222222222222") == ()
    assert full.gates_to(Target("1", "x", "y")) is None


def test_the_diagram_follows_the_pipeline_order() -> None:
    source = render(graph(flow(spec())))
    edges = re.findall(r"^  (\w+) -", source, re.MULTILINE)
    assert edges == [
        "ci", "release", "handoff", "source", "update", "push",
        "deploy_dev", "deploy_staging", "approve_prod", "deploy_prod",
    ]  # fmt: skip
    assert "deploy_prod --> marketplace" in source


def test_labels_cannot_leave_their_quotes() -> None:
    hostile = 'a"] --> x[<img src=x onerror=alert(1)>`#;\n'
    escaped = _escape(hostile)
    assert re.fullmatch(r"[A-Za-z0-9 .,:/_()+*=#;-]*", escaped)
    assert '"' not in escaped and "<" not in escaped and "`" not in escaped
    assert "#34;" in escaped and "#60;" in escaped


def test_thousands_of_checks_stay_a_small_diagram() -> None:
    checks = "".join(f"  - name: c{i}\n    run: make c{i}\n" for i in range(2000))
    source = render(graph(flow(spec(("checks:\n", "checks:\n" + checks)))))
    assert "2005 checks: c0, c1, c2, c3, c4, c5, c6, c7, and 1997 more" in source
    assert len(source) < 3000


def test_a_marketplace_move_is_highlighted() -> None:
    base = graph(flow(spec()))
    head = graph(
        flow(
            spec(
                ("    marketplace: true\n", ""),
                (DEV, DEV + "    marketplace: true\n"),
            )
        )
    )
    source = render(head, base=base)
    assert changed(head, base)
    assert 'marketplace(["AWS Marketplace<br/>prod-abcdefghijklm"]):::moved' in source
    lines = source.splitlines()
    new = lines.index("  deploy_dev --> marketplace")
    gone = lines.index('  deploy_prod -.->|"removed"| marketplace')
    edge_lines = [line for line in lines if re.match(r"  \w+ (-->|-\.->)", line)]
    assert f"  linkStyle {edge_lines.index(lines[new])} stroke:#1a7f37,stroke-width:3px" in lines
    assert f"  linkStyle {edge_lines.index(lines[gone])} stroke:#cf222e,stroke-width:2px" in lines


def test_a_removed_approval_and_an_added_check() -> None:
    base = graph(flow(spec()))
    head = graph(
        flow(
            spec(
                ("    approval: true\n", ""),
                ("checks:\n", "checks:\n  - name: docs\n    run: make docs\n"),
            )
        )
    )
    source = render(head, base=base)
    assert re.search(r'^  approve_prod\{\{"manual approval<br/>prod"\}\}:::removed$', source, re.M)
    assert re.search(r"^  ci\[.*\]:::changed$", source, re.M)
    assert "classDef removed" in source
    assert not changed(base, base)


def test_graph_prints_what_compile_writes(tmp_path: object) -> None:
    for example in EXAMPLES:
        spec_path = str(example / "pipeline.yaml")
        written = (example / naming.DIAGRAM).read_text()
        markdown = CliRunner().invoke(cli, ["graph", spec_path, "--format", "markdown"])
        assert markdown.exit_code == 0 and markdown.stdout == written
        mermaid = CliRunner().invoke(cli, ["graph", spec_path])
        assert mermaid.stdout.startswith("flowchart TD\n") and mermaid.stdout in written


def test_graph_of_an_invalid_spec_is_located(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["graph", str(ROOT / "tests" / "invalid" / "base.yaml")])
    assert result.exit_code in (0, 1) and "Traceback" not in result.output

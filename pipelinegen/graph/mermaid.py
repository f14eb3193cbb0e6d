"""The flow as a Mermaid flowchart, alone or with what a change adds, removes, changes or moves.

GitHub renders a fenced ```mermaid block in Markdown as a diagram (GitHub Docs, "Creating
diagrams"). Every label is a quoted Mermaid string whose characters outside a small safe set are
written as Mermaid entity codes (`#60;` for `<`, Mermaid's "Entity codes to escape characters"),
so no spec value can end a label, add a node or carry HTML, and the source holds no backtick.
Long lists are cut (LIST_LIMIT names, then "and N more") so a spec with thousands of checks still
gives a diagram of a few lines.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from typing import Literal

from pipelinegen.graph.flow import PIPELINE_STAGES, Flow

LIST_LIMIT = 8  # names shown per list before "and N more"
VALUE_LIMIT = 64  # characters of one value in a label
Shape = Literal["box", "round", "stadium", "cylinder", "gate"]
Status = Literal["added", "removed", "changed", "moved"]
_SHAPES: dict[Shape, tuple[str, str]] = {
    "box": ("[", "]"),
    "round": ("(", ")"),
    "stadium": ("([", "])"),
    "cylinder": ("[(", ")]"),
    "gate": ("{{", "}}"),
}
_SAFE = re.compile(r"[A-Za-z0-9 .,:/_()+*=-]")
CLASSES: dict[Status, str] = {
    "added": "fill:#dafbe1,stroke:#1a7f37,stroke-width:3px",
    "removed": "fill:#ffebe9,stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 4",
    "changed": "fill:#fff8c5,stroke:#9a6700,stroke-width:3px",
    "moved": "fill:#ddf4ff,stroke:#0969da,stroke-width:3px",
}
LEGEND = (
    "Highlighted: green added, red dashed removed, yellow changed, blue moved "
    "(now after another step); thick green arrows are new, dotted red arrows are gone."
)


@dataclass(frozen=True)
class Node:
    id: str
    shape: Shape
    lines: tuple[str, ...]  # the label, a line each (values not yet escaped)
    status: Status | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dotted: bool = False


@dataclass(frozen=True)
class Graph:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def graph(flow: Flow) -> Graph:
    """The nodes and edges of `flow`, in pipeline order."""
    tags = ", ".join(flow.release_tags)
    github = flow.delivery == "github"
    release = (
        f"Release workflow: tags {tags}",
        f"gates: {', '.join(flow.release_gates) or 'none'}",
        _listing("builds", flow.images),
        "packages the release for the jobs below"
        if github
        else f"uploads by OIDC as {flow.repository}, environment {flow.release_environment}",
    )
    nodes = [Node("ci", "box", _ci_label(flow)), Node("release", "box", release)]
    if github:
        push = (
            "push job, GitHub environment " + flow.release_environment,
            "contract check, push to ECR, by OIDC",
        )
        nodes.append(Node("push", "box", push))
        order = ["release", "push"]
    else:
        nodes += [
            Node(
                "handoff",
                "cylinder",
                (
                    "S3 handoff",
                    f"s3://{_cut(flow.bucket)}/{_cut(flow.key)}",
                    f"account {flow.tooling.account}, {flow.tooling.region}",
                ),
            ),
            Node("source", "box", ("CodePipeline: Source",)),
            Node("update", "box", ("UpdatePipeline", "synth, self-mutation")),
            Node("push", "box", ("Release", "contract check, push to ECR")),
        ]
        order = ["source", "update", "push"]
        assert len(order) == len(PIPELINE_STAGES)
    for deploy in flow.deploys:
        key = _id(deploy.environment)
        if deploy.approval:
            gate = "required reviewers" if github else "manual approval"
            nodes.append(Node(f"approve_{key}", "gate", (gate, deploy.environment)))
            order.append(f"approve_{key}")
        target = deploy.target
        job = f"deploy-{deploy.environment} job" if github else f"Deploy {deploy.environment}"
        nodes.append(
            Node(
                f"deploy_{key}",
                "box",
                (
                    job,
                    f"EKS {_cut(target.cluster)}, namespace {deploy.namespace}",
                    f"account {target.account}, {target.region}",
                ),
            )
        )
        order.append(f"deploy_{key}")
        if flow.marketplace is not None and flow.marketplace.after == deploy.environment:
            nodes.append(
                Node("marketplace", "stadium", ("AWS Marketplace", flow.marketplace.product_id))
            )
            order.append("marketplace")
    edges = [Edge("ci", "release", f"tag {tags}", dotted=True)]
    if not github:
        edges += [Edge("release", "handoff"), Edge("handoff", "source", "Object Created")]
    edges += [Edge(a, b) for a, b in itertools.pairwise(order)]
    title = "CI → release → delivery jobs" if github else "CI → release → handoff → pipeline"
    return Graph(f"{flow.project}: {title}", tuple(nodes), tuple(edges))


def _ci_label(flow: Flow) -> tuple[str, ...]:
    return (
        f"CI: pull requests and {flow.default_branch}",
        _listing("checks", flow.checks),
        _listing("image builds", flow.images),
    )


def _listing(what: str, names: tuple[str, ...]) -> str:
    if not names:
        return f"no {what}"
    shown = ", ".join(_cut(name) for name in names[:LIST_LIMIT])
    more = len(names) - LIST_LIMIT
    return f"{len(names)} {what}: {shown}" + (f", and {more} more" if more > 0 else "")


def _cut(value: str) -> str:
    return value if len(value) <= VALUE_LIMIT else value[: VALUE_LIMIT - 1] + "…"


def _id(name: str) -> str:
    """A Mermaid node id from an environment name (`[a-z][a-z0-9-]*`)."""
    return re.sub(r"[^a-z0-9]", "_", name)


def compare(base: Graph, head: Graph) -> Graph:
    """One graph with both sides: head's nodes and edges, marked added, changed or moved against
    base, then base's nodes and edges that head no longer has (edges after head's own)."""
    before = {node.id: node for node in base.nodes}
    after_ids = {node.id for node in head.nodes}
    incoming_before = _incoming(base)
    incoming_after = _incoming(head)
    nodes: list[Node] = []
    for node in head.nodes:
        old = before.get(node.id)
        status: Status | None = None
        if old is None:
            status = "added"
        elif old.lines != node.lines:
            status = "changed"
        elif incoming_before.get(node.id) != incoming_after.get(node.id):
            status = "moved"
        nodes.append(replace(node, status=status))
    nodes += [replace(n, status="removed") for n in base.nodes if n.id not in after_ids]
    return Graph(head.title, tuple(nodes), head.edges + _gone(base, head))


def _incoming(graph: Graph) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for edge in graph.edges:
        found.setdefault(edge.target, set()).add(edge.source)
    return {k: frozenset(v) for k, v in found.items()}


def _gone(base: Graph, head: Graph) -> tuple[Edge, ...]:
    kept = {(e.source, e.target) for e in head.edges}
    return tuple(
        Edge(e.source, e.target, "removed", dotted=True)
        for e in base.edges
        if (e.source, e.target) not in kept
    )


def render(graph: Graph, *, base: Graph | None = None) -> str:
    """Mermaid source of `graph` (with `base`, highlighted against it), ending in a newline."""
    shown = compare(base, graph) if base is not None else graph
    lines = ["flowchart TD"]
    for node in shown.nodes:
        opening, closing = _SHAPES[node.shape]
        label = "<br/>".join(_escape(line) for line in node.lines)
        status = f":::{node.status}" if node.status else ""
        lines.append(f'  {node.id}{opening}"{label}"{closing}{status}')
    before = _pairs(base) if base is not None else _pairs(graph)
    styles = []
    for index, edge in enumerate(shown.edges):
        arrow = "-.->" if edge.dotted else "-->"
        label = f'|"{_escape(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
        if index >= len(graph.edges):  # base's edges that head does not have
            styles.append(f"  linkStyle {index} stroke:#cf222e,stroke-width:2px")
        elif (edge.source, edge.target) not in before:
            styles.append(f"  linkStyle {index} stroke:#1a7f37,stroke-width:3px")
    lines += styles
    if base is not None:
        lines += [f"  classDef {name} {style}" for name, style in CLASSES.items()]
    return "\n".join(lines) + "\n"


def changed(graph: Graph, base: Graph) -> bool:
    """Whether `graph` differs from `base` in a node, a label or an edge."""
    return graph.nodes != base.nodes or _pairs(graph) != _pairs(base)


def _pairs(graph: Graph) -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in graph.edges}


def _escape(text: str) -> str:
    """A label's text with every character outside a small safe set as a Mermaid entity code."""
    return "".join(c if _SAFE.fullmatch(c) else f"#{ord(c)};" for c in text)

"""A chart is read offline, inside the repository, in bounded time, whatever it holds: schema
`$ref`s to the network or outside the chart (each spelling an attacker would try), fragments
and cycles that cannot resolve, a tree that fans out, and chart repositories over plain HTTP.
Each is a located error (exit 1), never a request, a file from elsewhere, a hang or exit 3."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipelinegen.chart import read as chart_read
from pipelinegen.cli import cli
from pipelinegen.errors import SpecError
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree

REPOS = Path(__file__).parent / "repos"
CHART = "deploy/umbrella"
SECRET = "top secret, outside the chart"


class Recorder(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every connection made to it (a TLS client
    counts too) and serves a schema to anyone who asks."""

    def __init__(self) -> None:
        self.connections: list[Any] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"type": "object"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections.append(client_address)
        return True


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def silent() -> Iterator[int]:
    """A port that accepts connections and never answers (the issue's hanging server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "umbrella"
    shutil.copytree(REPOS / "umbrella", root)
    (tmp_path / "secret.json").write_text(json.dumps({"description": SECRET}))
    return root


def with_schema(repo: Path, schema: Any, **files: Any) -> None:
    chart = repo / CHART
    (chart / "values.schema.json").write_text(json.dumps(schema))
    for name, contents in files.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(json.dumps(contents))


def problems(repo: Path) -> list[str]:
    try:
        load(
            (repo / "pipeline.yaml").read_text(), file="pipeline.yaml", repository=WorkingTree(repo)
        )
    except SpecError as error:
        return [f"{d.line}: {d.message}" for d in error.diagnostics]
    return []


def refs(url: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"cart": {"$ref": url}}}


def outside(repo: Path) -> list[str]:
    """Every spelling of a file outside the chart (and outside the repository)."""
    secret = repo.parent / "secret.json"
    return [
        secret.as_uri(),
        f"file://{secret}",
        f"file://localhost{secret}",
        str(secret),
        "../../../secret.json",
        "%2e%2e/%2e%2e/%2e%2e/secret.json",
        "../../services/service/values.yaml",  # inside the repository, outside the chart
        "/etc/passwd",
    ]


def test_network_refs_make_no_request_and_are_located(
    repo: Path, recorder: Recorder, silent: int
) -> None:
    port = recorder.server_address[1]
    for url in [
        f"http://127.0.0.1:{port}/x.json",
        f"https://127.0.0.1:{port}/x.json",
        f"http://127.0.0.1:{silent}/never-answers.json",
        f"//127.0.0.1:{port}/x.json",  # scheme-relative
        f"ftp://127.0.0.1:{port}/x.json",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    ]:
        with_schema(repo, refs(url))
        found = problems(repo)
        assert len(found) == 1, (url, found)
        assert "no network" in found[0], (url, found)
        assert found[0].startswith("14: "), found  # the spec's helm.chart line
    assert recorder.connections == []


def test_other_keywords_that_name_a_uri_make_no_request(
    repo: Path, recorder: Recorder, silent: int
) -> None:
    """`$dynamicRef`, an `$id` that moves the base URI to a server, and a `$schema` naming a
    server: jsonschema must resolve none of them over the network. A `$dynamicRef` to a server
    is a located error; under an `$id` on a server, a relative `$ref` still names the chart's
    own file, as pipelinegen read it."""
    port = recorder.server_address[1]
    here = f"http://127.0.0.1:{port}"
    located = "cannot resolve"  # what the one case that cannot resolve says
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        (
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "properties": {"cart": {"$dynamicRef": f"{here}/d.json#meta"}},
            },
            {},
            located,
        ),
        ({"$id": f"{here}/base/", "properties": {"cart": {"$ref": "x.json"}}}, {"x.json": {}}, ""),
        (
            {"$id": f"http://127.0.0.1:{silent}/", "properties": {"cart": {"$ref": "y.json"}}},
            {"y.json": {}},
            "",
        ),
        ({"$schema": f"{here}/meta", "properties": {"cart": {"type": "object"}}}, {}, ""),
    ]
    for schema, files, says in cases:
        with_schema(repo, schema, **files)
        found = problems(repo)
        assert [says in p for p in found] == ([True] if says else []), (schema, found)
    assert recorder.connections == []


def test_a_ref_nested_in_a_referenced_file_makes_no_request(repo: Path, recorder: Recorder) -> None:
    port = recorder.server_address[1]
    with_schema(
        repo,
        refs("defs/image.json"),
        **{"defs/image.json": {"$ref": f"http://127.0.0.1:{port}/y.json"}},
    )
    [found] = problems(repo)
    assert "'deploy/umbrella/defs/image.json#/$ref'" in found and "no network" in found
    assert recorder.connections == []


def test_files_outside_the_chart_are_never_read(repo: Path) -> None:
    for url in outside(repo):
        with_schema(repo, refs(url))
        found = problems(repo)
        assert len(found) == 1, (url, found)
        assert SECRET not in found[0] and "root:" not in found[0]
        assert "outside the chart" in found[0] or "no network" in found[0], (url, found)


def test_a_symlink_inside_the_chart_leads_nowhere(repo: Path) -> None:
    (repo / CHART / "defs.json").symlink_to(repo.parent / "secret.json")
    with_schema(repo, refs("defs.json"))
    [found] = problems(repo)
    assert SECRET not in found
    assert "not a file of the chart" in found


@pytest.mark.parametrize(
    ("schema", "files", "says"),
    [
        pytest.param(refs("#/definitions/nowhere"), {}, "cannot resolve", id="fragment"),
        pytest.param(
            refs("defs.json#/definitions/nowhere"),
            {"defs.json": {"definitions": {}}},
            "cannot resolve",
            id="fragment in a file",
        ),
        pytest.param(refs("#no-such-anchor"), {}, "cannot resolve", id="anchor"),
        pytest.param(refs("missing.json"), {}, "not a file of the chart", id="missing file"),
        pytest.param({"$ref": "#"}, {}, "cycle", id="root cycle"),
        pytest.param(
            {
                "$ref": "#/definitions/a",
                "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
            },
            {},
            "cycle",
            id="definitions cycle",
        ),
        pytest.param(
            refs("a.json"),
            {"a.json": {"$ref": "b.json"}, "b.json": {"$ref": "a.json"}},
            "cycle",
            id="file cycle",
        ),
        pytest.param(refs("bad.json"), {"bad.json": "{"}, "not a JSON schema", id="not a schema"),
    ],
)
def test_unresolvable_refs_are_located_errors(
    repo: Path, schema: Any, files: dict[str, Any], says: str
) -> None:
    with_schema(repo, schema, **files)
    found = problems(repo)
    assert len(found) == 1, found
    assert says in found[0], found


def test_the_cli_exits_1_not_3(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_schema(repo, refs("#/definitions/nowhere"))
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["validate", "pipeline.yaml"])
    assert result.exit_code == 1, result.output
    assert "pipeline.yaml:14:" in result.stderr and "Traceback" not in result.output


def test_refs_inside_the_chart_are_followed(repo: Path) -> None:
    """A schema split into files of the chart still checks the image values through them."""
    image = {"type": "object", "properties": {"repository": {"type": "integer"}}}
    with_schema(
        repo,
        refs("schemas/service.json"),
        **{
            "schemas/service.json": {
                "type": "object",
                "properties": {"image": {"$ref": "image.json#/definitions/image"}},
            },
            "schemas/image.json": {"definitions": {"image": image}},
        },
    )
    [found] = problems(repo)
    assert "rejects the image values at 'cart.image.repository'" in found


# --- a tree that fans out ---------------------------------------------------------------------


def fan_out(repo: Path, levels: int, width: int = 3) -> None:
    """The chart at each level lists `width` file:// dependencies (aliases) on the next."""
    base = repo / "deploy" / "levels"
    for level in range(levels):
        folder = base / f"l{level}"
        folder.mkdir(parents=True)
        deps = (
            ""
            if level == levels - 1
            else "dependencies:\n"
            + "".join(
                f"  - name: l{level + 1}\n    alias: a{i}\n    version: 0.1.0\n"
                f"    repository: file://../l{level + 1}\n"
                for i in range(width)
            )
        )
        (folder / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: l{level}\nversion: 0.1.0\n{deps}"
        )
        (folder / "values.yaml").write_text("image:\n  repository: x\n")
    chart = repo / CHART / "Chart.yaml"
    chart.write_text(
        chart.read_text()
        + "  - name: l0\n    version: 0.1.0\n    repository: file://../levels/l0\n"
    )


class Counting(WorkingTree):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: dict[str, int] = {}

    def read_text(self, path: str) -> str:
        self.reads[path] = self.reads.get(path, 0) + 1
        return super().read_text(path)


@pytest.mark.parametrize(("levels", "refused"), [(4, False), (12, True)])
def test_a_fan_out_reads_each_chart_once(repo: Path, levels: int, refused: bool) -> None:
    """The issue's tree (three dependencies each on the next chart, 12 levels: 3^12 subchart
    instances as Helm renders it) is read in one pass over its 12 folders and refused with a
    located error; a small one (121 instances) is read in as many reads and checked."""
    fan_out(repo, levels)
    counting = Counting(repo)
    chart = None
    try:
        chart = chart_read.read_chart(counting, CHART)
    except chart_read.ChartError as error:
        assert refused, error
        assert "subchart instances" in str(error)
    else:
        assert not refused
        assert chart is not None and sum(1 for _ in chart.walk()) > levels
    level_reads = {p: n for p, n in counting.reads.items() if p.startswith("deploy/levels/")}
    assert len(level_reads) == 2 * levels  # Chart.yaml and values.yaml of each level
    assert set(level_reads.values()) == {1}
    found = problems(repo)
    assert bool(found) == refused, found
    if refused:
        assert found[0].startswith("14: ") and "subchart instances" in found[0]


def test_too_many_chart_folders_are_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_read, "MAX_CHARTS", 5)
    fan_out(repo, 8, width=1)
    [found] = problems(repo)
    assert "more than 5 chart folders" in found


# --- chart repositories ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "says"),
    [
        ("http://charts.example.com", "over plain HTTP"),
        ("http://127.0.0.1:8879/charts", "over plain HTTP"),
        ("HTTP://charts.example.com", "cannot resolve"),
        ("ftp://charts.example.com", "cannot resolve"),
        ("git+https://github.com/acme/charts", "cannot resolve"),
        ("@bitnami", "cannot resolve"),
    ],
)
def test_chart_repositories_must_be_https_or_oci(repo: Path, repository: str, says: str) -> None:
    chart = repo / CHART
    (chart / "Chart.yaml").write_text(
        (chart / "Chart.yaml").read_text()
        + f'  - name: redis\n    version: 19.0.0\n    repository: "{repository}"\n'
    )
    (chart / "Chart.lock").write_text(
        "dependencies:\n"
        "- name: service\n  repository: file://../../services/service\n  version: 0.1.0\n"
        "- name: service\n  repository: file://../../services/service\n  version: 0.1.0\n"
        f'- name: redis\n  repository: "{repository}"\n  version: 19.0.0\n'
        'digest: sha256:0\ngenerated: "2026-01-01T00:00:00Z"\n'
    )
    found = [p for p in problems(repo) if "redis" in p]
    assert len(found) == 1 and says in found[0], found

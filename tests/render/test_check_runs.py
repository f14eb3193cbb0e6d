"""The release gate reads which CI jobs passed on the tagged commit: the gate job's check-runs
step, run as the workflow writes it (its `env:` and `run:`, `bash -e`, in a git checkout),
against a stand-in for GitHub's REST API on 127.0.0.1 that the tests start and stop.

The stand-in serves `GET /repos/{owner}/{repo}/commits/{ref}/check-runs` the way GitHub
documents it ("List check runs for a Git reference": `total_count`, `check_runs` with `name`,
`status`, `conclusion`, `app.slug`; pages linked by a `Link: <…>; rel="next"` header) and
answers a token-less or forbidden request with 403, as GitHub does without `checks: read`.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ruamel.yaml import YAML

from pipelinegen import naming
from tests.snapshot import IDENTITY, git
from tests.steps import run_step

TOKEN = "ghs_stand-in-token"
REPOSITORY = "acme/platform"


def run(name: str, state: str, *, app: str = "github-actions", run_id: int = 1) -> dict[str, Any]:
    """A check run as GitHub lists it: `state` is a status, or a conclusion when completed."""
    completed = state not in {"queued", "in_progress"}
    return {
        "id": run_id,
        "name": name,
        "status": "completed" if completed else state,
        "conclusion": state if completed else None,
        "app": {"slug": app},
    }


@dataclass
class StandIn:
    """What the stand-in answers: one list of check runs per poll (the last one repeats)."""

    polls: list[list[dict[str, Any]]] = field(default_factory=lambda: [[]])
    status: int = 200
    page_size: int = 100
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization)
    url: str = ""

    def answer(self, path: str, authorization: str) -> tuple[int, dict[str, Any], str]:
        self.requests.append((path, authorization))
        if self.status != 200 or authorization != f"Bearer {TOKEN}":
            return self.status if self.status != 200 else 401, {"message": "denied"}, ""
        page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        polls = sum(1 for p, _ in self.requests if "page" not in parse_qs(urlsplit(p).query))
        runs = self.polls[min(polls, len(self.polls)) - 1]
        chunk = runs[(page - 1) * self.page_size : page * self.page_size]
        link = ""
        if page * self.page_size < len(runs):
            base = path.partition("&page=")[0]
            link = f'<{self.url}{base}&page={page + 1}>; rel="next"'
        return 200, {"total_count": len(runs), "check_runs": chunk}, link


@pytest.fixture
def github() -> Iterator[StandIn]:
    """The stand-in GitHub API, listening on 127.0.0.1 for the length of one test."""
    stand_in = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, link = stand_in.answer(self.path, self.headers.get("Authorization", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def checkout(compiled: dict[str, Path], tmp_path: Path) -> Path:
    """The tagged commit as the gate job checks it out: the compiled example's files, committed."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(compiled["example-full"] / ".github", repo / ".github")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release me")
    return repo


def gate_reading(compiled: dict[str, Path]) -> dict[str, Any]:
    path = compiled["example-full"] / naming.RELEASE_WORKFLOW
    release = YAML(typ="safe").load(path.read_text())
    [step] = [
        s for s in release["jobs"]["gate"]["steps"] if naming.CHECK_RUNS_SCRIPT in s.get("run", "")
    ]
    return step  # type: ignore[no-any-return]


def read_gate(
    compiled: dict[str, Path], checkout: Path, github: StandIn, **timing: str
) -> tuple[int, str, list[str] | None]:
    """Run the step; its exit code, output, and the `rerun` output it wrote (None if none)."""
    step = gate_reading(compiled)
    step = {**step, "env": {**step["env"], **timing}}
    outputs = checkout.parent / "github_output"
    outputs.write_text("")
    result = run_step(
        step,
        cwd=checkout,
        env={
            **IDENTITY,
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_OUTPUT": str(outputs),
        },
        expressions={"github.token": TOKEN},
    )
    lines = [line for line in outputs.read_text().splitlines() if line.startswith("rerun=")]
    rerun = json.loads(lines[0].partition("=")[2]) if lines else None
    return result.returncode, result.stdout, rerun


REQUIRED = ["lint", "test", "web-test", "secrets", "chart", "pipelinegen"]
FAST = {"POLL_SECONDS": "0.05", "APPEAR_SECONDS": "0.3", "WAIT_SECONDS": "2"}


def test_the_gate_reads_the_commits_check_runs_with_the_jobs_token(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    github.polls = [[run(name, "success", run_id=i) for i, name in enumerate(REQUIRED)]]
    code, output, rerun = read_gate(compiled, checkout, github)
    assert (code, rerun) == (0, []), output
    commit = git(checkout, "rev-parse", "HEAD")
    [(path, authorization)] = github.requests
    assert path == f"/repos/{REPOSITORY}/commits/{commit}/check-runs?per_page=100&filter=latest"
    assert authorization == f"Bearer {TOKEN}"


def test_only_what_did_not_pass_is_run_again(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    """A failure, a cancellation, a check never run on the commit, and a `success` forged by
    another GitHub App: each is run again; a re-run attempt that passed counts as passed."""
    github.polls = [
        [
            run("lint", "success", run_id=1),
            run("test", "failure", run_id=2),
            run("web-test", "failure", run_id=3),
            run("web-test", "success", run_id=9),  # the newer attempt
            run("secrets", "success", app="someones-app", run_id=4),
            run("chart", "cancelled", run_id=5),
            run("unrelated", "failure", run_id=6),
        ]
    ]
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert code == 0, output
    assert rerun == ["test", "secrets", "chart", "pipelinegen"]
    assert "pipelinegen: not run on this commit" in output


def test_the_gate_waits_while_checks_run(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    running = [run(name, "in_progress", run_id=i) for i, name in enumerate(REQUIRED)]
    done = [run(name, "success", run_id=10 + i) for i, name in enumerate(REQUIRED)]
    github.polls = [[run(REQUIRED[0], "queued")], running, done]
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert (code, rerun) == (0, []), output
    assert len(github.requests) == 3
    assert "waiting for" in output


def test_the_wait_is_bounded(compiled: dict[str, Path], checkout: Path, github: StandIn) -> None:
    """A check still running at the deadline is run by the release itself."""
    github.polls = [
        [run(name, "in_progress" if name == "test" else "success") for name in REQUIRED]
    ]
    code, output, rerun = read_gate(compiled, checkout, github, **{**FAST, "WAIT_SECONDS": "0.3"})
    assert (code, rerun) == (0, ["test"]), output
    assert len(github.requests) > 1


def test_a_commit_ci_never_ran_on_runs_every_check_after_a_short_wait(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert (code, rerun) == (0, REQUIRED), output
    assert len(github.requests) > 1


def test_every_page_is_read(compiled: dict[str, Path], checkout: Path, github: StandIn) -> None:
    github.page_size = 2
    others = [run(f"other-{i}", "failure", run_id=100 + i) for i in range(5)]
    github.polls = [[*others, *(run(name, "success") for name in REQUIRED)]]
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert (code, rerun) == (0, []), output
    assert len(github.requests) == 6


def test_a_token_without_checks_read_stops_the_release_naming_the_permission(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    github.status = 403
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert (code, rerun) == (1, None)
    assert output.strip() == (
        "::error title=release refused::GitHub answered 403 reading check runs; the gate job's "
        "token needs `checks: read` (its `permissions:`)"
    )


def test_a_next_page_elsewhere_is_not_followed_with_the_token(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    """A Link header pointing off the API's origin would carry the token there: not followed."""
    github.page_size = 1
    github.polls = [[run(name, "success") for name in REQUIRED]]
    real = github.answer

    def elsewhere(path: str, authorization: str) -> tuple[int, dict[str, Any], str]:
        status, body, link = real(path, authorization)
        return status, body, link.replace("127.0.0.1", "localhost") if link else ""

    github.answer = elsewhere  # type: ignore[method-assign]
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert code == 0, output
    assert rerun == REQUIRED[1:]  # only the first page was read


@pytest.mark.parametrize(
    "crafted",
    [
        {"name": "lint", "status": "completed", "conclusion": "success", "app": "github-actions"},
        {"name": "lint", "status": "completed", "conclusion": "success", "app": None, "id": 1},
        {"name": ["lint"], "status": "completed", "app": {"slug": "github-actions"}, "id": 2},
    ],
)
def test_a_crafted_answer_never_counts_as_passed_nor_crashes(
    compiled: dict[str, Path], checkout: Path, github: StandIn, crafted: dict[str, Any]
) -> None:
    github.polls = [[crafted, *(run(name, "success") for name in REQUIRED[1:])]]
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert "Traceback" not in output
    assert (code, rerun) == (0, ["lint"]), output


def test_a_check_run_without_an_id_stops_the_release(
    compiled: dict[str, Path], checkout: Path, github: StandIn
) -> None:
    github.polls = [[{**run("lint", "success"), "id": "1; DROP"}]]
    code, output, rerun = read_gate(compiled, checkout, github, **FAST)
    assert (code, rerun) == (1, None)
    assert "without a numeric id" in output and "Traceback" not in output

"""An approval under `delivery: github` is one GitHub enforces: the deploy job's check step, run
as the release workflow writes it (its `env:`, `working-directory:` and `bash -e`), against a
stand-in for GitHub's REST API on 127.0.0.1 that answers "Get an environment" the way GitHub
documents it and records every request. The stand-in is named: no real GitHub is reached."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT
from tests.steps import run_step

EXAMPLE = ROOT / "examples" / "github-delivery"
WORKFLOW = EXAMPLE / ".github" / "workflows" / "pipelinegen-release.yml"
STEP = "Check that GitHub enforces the approval"
TOKEN = "ghs_job-token-of-this-run"
REVIEWER = {"type": "Team", "reviewer": {"slug": "platform-leads", "id": 7}}


def environment(*rules: dict[str, Any], admins_bypass: bool = True) -> dict[str, Any]:
    """An environment as GitHub's "Get an environment" returns it (REST API 2022-11-28)."""
    return {
        "id": 161088068,
        "name": "prod",
        "url": "https://api.github.com/repos/acme/platform/environments/prod",
        "can_admins_bypass": admins_bypass,
        "protection_rules": list(rules),
        "deployment_branch_policy": None,
    }


def reviewers_rule(*who: dict[str, Any], prevent_self_review: bool = True) -> dict[str, Any]:
    return {
        "id": 3755,
        "node_id": "MDQ6R2F0ZTM3NTU=",
        "type": "required_reviewers",
        "prevent_self_review": prevent_self_review,
        "reviewers": list(who),
    }


class StandInGitHub:
    """GitHub's REST API as far as this check reads it: one answer per path, every request
    recorded (method, path, headers)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(
                    ("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                status, headers, body = owner.answers.get(
                    self.path, (404, {}, b'{"message": "Not Found"}')
                )
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(
        self, path: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.answers[path] = (status, headers or {}, json.dumps(body).encode())


@pytest.fixture
def github() -> Iterator[StandInGitHub]:
    stand_in = StandInGitHub()
    stand_in.thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()
    stand_in.thread.join()


def deploy_job(name: str = "deploy-prod") -> dict[str, Any]:
    jobs: dict[str, Any] = YAML(typ="safe").load(WORKFLOW.read_text())["jobs"]
    return jobs[name]  # type: ignore[no-any-return]


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """The extracted release the deploy job runs in: its cdk/ is the committed CDK app."""
    shutil.copytree(EXAMPLE / "deploy" / "cdk" / "scripts", tmp_path / "release/cdk/scripts")
    return tmp_path


def run_check(release: Path, api: str) -> tuple[int, str]:
    job = deploy_job()
    [step] = [s for s in job["steps"] if s.get("name") == STEP]
    done = run_step(
        step,
        cwd=release / step["working-directory"],
        env={"GITHUB_API_URL": api, "GITHUB_REPOSITORY": "acme/platform"},
        expressions={"github.token": TOKEN},
    )
    return done.returncode, done.stdout


PROD = "/repos/acme/platform/environments/prod"


def test_the_check_runs_before_any_role_is_assumed_with_the_permission_it_needs() -> None:
    job = deploy_job()
    names = [step.get("name", "") for step in job["steps"]]
    assumes = [
        i for i, s in enumerate(job["steps"]) if "configure-aws-credentials" in s.get("uses", "")
    ]
    assert assumes and names.index(STEP) < min(assumes)
    assert job["permissions"]["actions"] == "read"
    assert all(STEP not in str(deploy_job(other)) for other in ("deploy-dev", "deploy-staging"))


def test_enforced_reviewers_pass_and_the_request_is_the_documented_one(
    github: StandInGitHub, release: Path
) -> None:
    github.answer(PROD, 200, environment(reviewers_rule(REVIEWER), admins_bypass=False))
    code, output = run_check(release, github.url)
    assert code == 0, output
    assert "requires a review by one of: Team platform-leads" in output
    assert "::warning" not in output
    [(method, path, headers)] = github.requests
    assert (method, path) == ("GET", PROD)
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-github-api-version"] == "2022-11-28"


def test_enterprise_server_api_url_is_followed(github: StandInGitHub, release: Path) -> None:
    """GHES serves the REST API under /api/v3; GITHUB_API_URL says so."""
    github.answer(f"/api/v3{PROD}", 200, environment(reviewers_rule(REVIEWER)))
    code, output = run_check(release, f"{github.url}/api/v3")
    assert code == 0, output
    assert [path for _, path, _ in github.requests] == [f"/api/v3{PROD}"]


def test_admin_bypass_and_self_review_are_reported(github: StandInGitHub, release: Path) -> None:
    github.answer(PROD, 200, environment(reviewers_rule(REVIEWER, prevent_self_review=False)))
    code, output = run_check(release, github.url)
    assert code == 0, output
    assert "::warning title=Approval can be bypassed::repository administrators may" in output
    assert "::warning title=Self-review allowed::" in output


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(environment(), id="new environment, no rules"),
        pytest.param(
            environment({"id": 1, "type": "wait_timer", "wait_timer": 30}), id="wait timer only"
        ),
        pytest.param(environment({"id": 2, "type": "branch_policy"}), id="branch policy only"),
        pytest.param(environment(reviewers_rule()), id="reviewers rule with nobody"),
        pytest.param({"name": "prod", "protection_rules": None}, id="rules null"),
        pytest.param(["not", "an", "environment"], id="not an object"),
    ],
)
def test_no_required_reviewer_stops_the_deploy(
    github: StandInGitHub, release: Path, answer: Any
) -> None:
    github.answer(PROD, 200, answer)
    code, output = run_check(release, github.url)
    assert code == 1, output
    assert "::error title=Approval not enforced::" in output
    assert "Traceback" not in output


def test_no_reviewers_names_the_setting_and_the_plan(github: StandInGitHub, release: Path) -> None:
    github.answer(PROD, 200, environment())
    code, output = run_check(release, github.url)
    assert code == 1
    assert "GitHub environment 'prod' has no required reviewers" in output
    assert "Settings → Environments → prod → Required reviewers" in output
    assert "GitHub Enterprise" in output and "delivery: aws" in output


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (403, "actions: read"),
        (401, "actions: read"),
        (404, "no such environment"),
        (500, "answered 500"),
    ],
)
def test_an_unreadable_environment_stops_the_deploy(
    github: StandInGitHub, release: Path, status: int, says: str
) -> None:
    github.answer(PROD, status, {"message": "nope"})
    code, output = run_check(release, github.url)
    assert code == 1, output
    assert says in output


def test_a_redirect_is_not_followed_with_the_token(github: StandInGitHub, release: Path) -> None:
    """An answer that sends the client elsewhere would carry the token there: refused."""
    elsewhere = StandInGitHub()
    elsewhere.thread.start()
    try:
        elsewhere.answer(PROD, 200, environment(reviewers_rule(REVIEWER)))
        github.answer(PROD, 301, {}, headers={"Location": f"{elsewhere.url}{PROD}"})
        code, output = run_check(release, github.url)
    finally:
        elsewhere.server.shutdown()
        elsewhere.server.server_close()
    assert code == 1, output
    assert elsewhere.requests == []


def test_nothing_listening_stops_the_deploy(release: Path) -> None:
    stand_in = StandInGitHub()  # bound, then closed: the port refuses connections
    stand_in.server.server_close()
    code, output = run_check(release, stand_in.url)
    assert code == 1
    assert "cannot reach" in output

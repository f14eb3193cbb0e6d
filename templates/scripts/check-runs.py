#!/usr/bin/env python3
"""Which required checks have not passed on the commit being released?

The release workflow's `gate` job runs this (Python 3.9+, standard library only) on the tagged
commit instead of running the whole CI again: the CI workflow already ran on that commit when
it was pushed to the default branch. It reads the commit's check runs from GitHub's REST API,
"List check runs for a Git reference" (`GET /repos/{owner}/{repo}/commits/{ref}/check-runs`),
with the job's own token, which needs `checks: read` (GitHub docs: "Controlling permissions for
GITHUB_TOKEN": `checks` works with check runs and check suites; the endpoint asks a GitHub App
token, as GITHUB_TOKEN is, for the Checks repository permission, read).

    GITHUB_TOKEN=... GITHUB_API_URL=https://api.github.com GITHUB_REPOSITORY=acme/platform \\
    python3 check-runs.py --commit <sha> --required "lint test chart" >>"$GITHUB_OUTPUT"

It waits, bounded, while a required check is queued or in progress (up to --wait-seconds), and
for a while (--appear-seconds) when none has appeared yet (the default branch's CI run may not
have started). Then it prints `rerun=<JSON list>`: every required check whose latest run by
GitHub Actions did not conclude `success` (failed, cancelled, still running at the deadline,
or never run). The release runs exactly those before it builds anything.

Only check runs made by GitHub Actions (app slug `github-actions`) count: another GitHub App
with `checks: write` cannot mark a check passed. Exit 0 with the list; 1 when the API cannot be
read (the message names the permission when GitHub answers 401/403/404).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

ACTIONS_APP = "github-actions"
PAGE_SIZE = 100  # the endpoint's maximum per_page
MAX_PAGES = 20
TIMEOUT_SECONDS = 30


class GateError(Exception):
    """The check runs could not be read; printed without a traceback."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", required=True, help="the commit SHA being released")
    parser.add_argument("--required", required=True, help="the CI jobs, space-separated")
    parser.add_argument("--wait-seconds", type=float, default=1200)
    parser.add_argument("--appear-seconds", type=float, default=120)
    parser.add_argument("--poll-seconds", type=float, default=15)
    args = parser.parse_args()
    try:
        rerun = not_passed(
            api=_environment("GITHUB_API_URL").rstrip("/"),
            repository=_environment("GITHUB_REPOSITORY"),
            token=_environment("GITHUB_TOKEN"),
            commit=args.commit,
            required=args.required.split(),
            wait=args.wait_seconds,
            appear=args.appear_seconds,
            poll=args.poll_seconds,
        )
    except GateError as error:
        print(f"::error title=release refused::{error}", file=sys.stderr)
        return 1
    print(f"rerun={json.dumps(rerun)}")
    return 0


def not_passed(
    *,
    api: str,
    repository: str,
    token: str,
    commit: str,
    required: list[str],
    wait: float,
    appear: float,
    poll: float,
) -> list[str]:
    """The required checks (in the order given) that have not passed on `commit`."""
    start = time.monotonic()
    while True:
        states = latest_states(api, repository, token, commit, set(required))
        elapsed = time.monotonic() - start
        pending = [name for name in required if states.get(name) in {"queued", "in_progress"}]
        waiting = (pending and elapsed < wait) or (not states and elapsed < appear)
        if not waiting:
            break
        _log(f"waiting for {', '.join(pending) or 'the CI run to start'} ({elapsed:.0f} s)")
        time.sleep(poll)
    for name in required:
        _log(f"{name}: {states.get(name, 'not run on this commit')}")
    return [name for name in required if states.get(name) != "success"]


def latest_states(
    api: str, repository: str, token: str, commit: str, required: set[str]
) -> dict[str, str]:
    """Each required check's state: its conclusion when completed, else its status. GitHub
    returns the latest run of each name by default (`filter=latest`)."""
    query = urllib.parse.urlencode({"per_page": PAGE_SIZE, "filter": "latest"})
    url: str | None = f"{api}/repos/{repository}/commits/{commit}/check-runs?{query}"
    runs: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page, url = _get(url, token, api)
        runs += page
    states: dict[str, tuple[int, str]] = {}
    for run in runs:
        app = run.get("app")
        name, order = run.get("name"), run.get("id")
        if not isinstance(app, dict) or app.get("slug") != ACTIONS_APP:
            continue
        if not isinstance(name, str) or name not in required:
            continue
        if not isinstance(order, int):
            raise GateError(f"GitHub's answer holds a check run {name!r} without a numeric id")
        state = run.get("conclusion") if run.get("status") == "completed" else run.get("status")
        if name not in states or order > states[name][0]:  # a re-run's newer attempt wins
            states[name] = (order, str(state))
    return {name: state for name, (_, state) in states.items()}


def _get(url: str, token: str, api: str) -> tuple[list[dict[str, Any]], str | None]:
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "pipelinegen-release-gate",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = json.loads(response.read())
            link = response.headers.get("Link", "")
    except urllib.error.HTTPError as error:
        hint = ""
        if error.code in {401, 403, 404}:
            hint = "; the gate job's token needs `checks: read` (its `permissions:`)"
        raise GateError(f"GitHub answered {error.code} reading check runs{hint}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise GateError(f"could not read check runs from {api}: {error}") from None
    runs = body.get("check_runs") if isinstance(body, dict) else None
    if not isinstance(runs, list):
        raise GateError("GitHub's answer holds no check_runs list")
    return [run for run in runs if isinstance(run, dict)], _next_page(link, api)


def _next_page(link: str, api: str) -> str | None:
    """The `rel="next"` URL of a Link header, only on the API's own origin (the token is sent
    with it)."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params:
            url = target.strip().strip("<>")
            return url if url.startswith(f"{api}/") else None
    return None


def _log(message: str) -> None:
    print(f"check-runs: {message}", file=sys.stderr)


def _environment(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise GateError(f"set {name}")
    return value


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Stop a deploy unless GitHub enforces a required reviewer on its environment.

Under `delivery: github` the manual approval of an environment with `approval: true` is the
required reviewers of the GitHub environment of that name, found by name. GitHub creates an
environment on first use with no protection rules, so a renamed or new environment deploys
with no reviewer at all: the spec's `approval: true` is only a wish until this check passes. A
deploy job runs it first, before it assumes any AWS role:

    python3 cdk/scripts/required_reviewers.py ENVIRONMENT

It reads the environment with GitHub's REST API, "Get an environment"
(`GET /repos/{owner}/{repo}/environments/{environment_name}`, API version 2022-11-28,
docs.github.com/rest/deployments/environments), from the runner's `GITHUB_API_URL` (so
GitHub Enterprise Server works too) with the job's own `GITHUB_TOKEN`, which needs the
`actions: read` permission (the page's "Fine-grained access tokens": "Actions" repository
permissions (read)). It passes when the environment's `protection_rules` hold a rule of type
`required_reviewers` that names at least one reviewer, and warns when administrators may bypass
the protection rules (`can_admins_bypass`, true unless turned off) or when whoever started the
release may approve it (`prevent_self_review` off).

Required reviewers for a private or internal repository need GitHub Enterprise: on GitHub Free,
Pro and Team they are offered for public repositories only (same page, "About deployment
environments"). There the API returns no such rule and this check stops the deploy; the team
moves to `delivery: aws`, whose approval is a CodePipeline manual-approval action, or upgrades.

Exit codes: 0 enforced; 1 not enforced, or the environment cannot be read (each with an
`::error::` line naming the setting or the permission). Python 3.9+, standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NoReturn

API_VERSION = "2022-11-28"  # the REST API version the fields below are documented for
TIMEOUT_SECONDS = 30
MAX_RESPONSE_BYTES = 1 << 20  # an environment is a few kilobytes


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """The token goes to GITHUB_API_URL only: a redirect is an error, never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fail(message: str, hint: str) -> NoReturn:
    print(f"::error title=Approval not enforced::{message}", file=sys.stderr)
    print(f"  {hint}", file=sys.stderr)
    sys.exit(1)


def environment_url(api: str, repository: str, environment: str) -> str:
    """The "Get an environment" URL; the name URL-encoded (a '/' becomes %2F, as documented)."""
    owner, _, repo = repository.partition("/")
    parts = (owner, repo, environment)
    quoted = [urllib.parse.quote(part, safe="") for part in parts]
    return f"{api.rstrip('/')}/repos/{quoted[0]}/{quoted[1]}/environments/{quoted[2]}"


def read_environment(url: str, token: str) -> dict[str, Any]:
    """The environment as JSON; exits 1 naming what is wrong when it cannot be read."""
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "pipelinegen-required-reviewers",
        },
    )
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            fail(
                f"GitHub refused to show the environment ({error.code}) at {url}",
                "give the deploy job `permissions: actions: read` (Get an environment), "
                "and pass it the job's token as GITHUB_TOKEN",
            )
        if error.code == 404:
            fail(
                f"GitHub has no such environment ({url})",
                "create the environment in Settings → Environments and add required reviewers",
            )
        fail(f"GitHub answered {error.code} for {url}", "run the job again later")
    except (urllib.error.URLError, OSError) as error:
        fail(f"cannot reach {url}: {error}", "check GITHUB_API_URL and the runner's network")
    if len(body) > MAX_RESPONSE_BYTES:
        fail(f"the answer from {url} is larger than {MAX_RESPONSE_BYTES} bytes", "")
    try:
        data = json.loads(body)
    except ValueError:
        fail(f"the answer from {url} is not JSON", "check GITHUB_API_URL")
    if not isinstance(data, dict):
        fail(f"the answer from {url} is not a JSON object", "check GITHUB_API_URL")
    return data


def reviewers(environment: dict[str, Any]) -> list[str]:
    """Who may approve: the reviewers of every `required_reviewers` rule, as `Type name`."""
    found = []
    for rule in environment.get("protection_rules") or []:
        if not isinstance(rule, dict) or rule.get("type") != "required_reviewers":
            continue
        for entry in rule.get("reviewers") or []:
            if not isinstance(entry, dict):
                continue
            kind = str(entry.get("type") or "reviewer")
            who = entry.get("reviewer")
            who = who if isinstance(who, dict) else {}
            found.append(f"{kind} {who.get('login') or who.get('slug') or who.get('id', '?')}")
    return found


def self_review_allowed(environment: dict[str, Any]) -> bool:
    return any(
        isinstance(rule, dict)
        and rule.get("type") == "required_reviewers"
        and rule.get("prevent_self_review") is not True
        for rule in environment.get("protection_rules") or []
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: required_reviewers.py ENVIRONMENT", file=sys.stderr)
        return 2
    name = argv[1]
    missing = [
        k for k in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN") if not os.environ.get(k)
    ]
    if missing:
        fail(
            f"{', '.join(missing)} not set",
            "run this in a GitHub Actions job, with `env: GITHUB_TOKEN: ${{ github.token }}`",
        )
    url = environment_url(os.environ["GITHUB_API_URL"], os.environ["GITHUB_REPOSITORY"], name)
    environment = read_environment(url, os.environ["GITHUB_TOKEN"])
    who = reviewers(environment)
    if not who:
        fail(
            f"GitHub environment '{name}' has no required reviewers, so nothing would stop "
            "this release before it deploys (the spec asks for an approval)",
            f"set Settings → Environments → {name} → Required reviewers (at least one person "
            "or team); for a private repository that needs GitHub Enterprise, else use "
            "`delivery: aws`",
        )
    print(f"GitHub environment '{name}' requires a review by one of: {', '.join(who)}")
    if environment.get("can_admins_bypass", True) is not False:
        print(
            f"::warning title=Approval can be bypassed::repository administrators may deploy "
            f"to '{name}' without a review (Settings → Environments → {name} → untick "
            '"Allow administrators to bypass configured protection rules")'
        )
    if self_review_allowed(environment):
        print(
            f"::warning title=Self-review allowed::whoever started this release may approve "
            f'it (Settings → Environments → {name} → "Prevent self-review")'
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

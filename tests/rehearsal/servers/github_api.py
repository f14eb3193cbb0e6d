"""A stand-in for GitHub's REST API as far as a `delivery: github` deploy job reads it: "Get an
environment" (`GET /repos/{owner}/{repo}/environments/{name}`, API version 2022-11-28,
docs.github.com/rest/deployments/environments), answered for every environment as a repository
set up as docs/trust-model.md says would answer: a `required_reviewers` protection rule with one
team, self-review prevented, administrators not allowed to bypass. The request must carry a
bearer token and the API version header, or it is refused (401, 400) as GitHub would.

    python github_api.py PORT REQUESTS_JSONL

Each request is appended to REQUESTS_JSONL: {"path", "authorized"}; `GET /` answers 200 (ready).
"""

from __future__ import annotations

import json
import re
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

ENVIRONMENT = re.compile(r"/repos/([^/]+)/([^/]+)/environments/([^/?]+)")


def environment(owner: str, repo: str, name: str) -> dict[str, Any]:
    return {
        "id": 1,
        "name": name,
        "url": f"https://api.github.com/repos/{owner}/{repo}/environments/{name}",
        "can_admins_bypass": False,
        "protection_rules": [
            {
                "id": 2,
                "type": "required_reviewers",
                "prevent_self_review": True,
                "reviewers": [{"type": "Team", "reviewer": {"slug": "release-managers"}}],
            }
        ],
    }


class Handler(BaseHTTPRequestHandler):
    log: Path

    def do_GET(self) -> None:
        authorized = (self.headers.get("Authorization") or "").startswith("Bearer ")
        with self.log.open("a") as out:
            out.write(json.dumps({"path": self.path, "authorized": authorized}) + "\n")
        match = ENVIRONMENT.fullmatch(self.path)
        if self.path == "/":
            self.answer(200, {})
        elif not authorized:
            self.answer(401, {"message": "Requires authentication"})
        elif self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
            self.answer(400, {"message": "unsupported API version"})
        elif match:
            self.answer(200, environment(*match.groups()))
        else:
            self.answer(404, {"message": "Not Found"})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    port, log = int(sys.argv[1]), Path(sys.argv[2])
    Handler.log = log
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()

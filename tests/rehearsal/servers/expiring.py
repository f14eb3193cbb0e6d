"""STS sessions that expire: a stand-in in front of moto, which never checks a session's end.

Every request goes on to moto unchanged, except that:

- an STS AssumeRole answer's `Expiration` becomes now + LIFETIME seconds (moto's would be the hour
  it was asked for), and the session token is remembered with that deadline;
- a request signed with a remembered token after its deadline gets AWS's answer to an expired
  session, without reaching moto: HTTP 400, `ExpiredToken`, "The security token included in the
  request is expired" (the STS and Query APIs' error shape).

    python expiring.py PORT MOTO_URL LIFETIME_SECONDS
"""

from __future__ import annotations

import re
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXPIRED = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>ExpiredToken</Code><Message>The security token included in the request is expired"
    b"</Message></Error><RequestId>expired</RequestId></ErrorResponse>"
)


class Sessions:
    """Session tokens and their deadlines (monotonic seconds)."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self.deadlines: dict[str, float] = {}
        self.lock = threading.Lock()
        self.refused = 0

    def issued(self, body: bytes) -> bytes:
        """An AssumeRole answer with its Expiration moved to now + lifetime; remembers it."""
        text = body.decode()
        token = re.search(r"<SessionToken>([^<]+)</SessionToken>", text)
        if token is None:
            return body
        with self.lock:
            self.deadlines[token.group(1)] = time.monotonic() + self.lifetime
        ends = datetime.now(UTC) + timedelta(seconds=self.lifetime)
        stamp = ends.strftime("%Y-%m-%dT%H:%M:%SZ")
        return re.sub(r"<Expiration>[^<]+</Expiration>", f"<Expiration>{stamp}</Expiration>",
                      text).encode()  # fmt: skip

    def expired(self, token: str | None) -> bool:
        with self.lock:
            deadline = self.deadlines.get(token or "")
            if deadline is not None and time.monotonic() > deadline:
                self.refused += 1
                return True
        return False


def serve(port: int, moto: str, sessions: Sessions) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if sessions.expired(self.headers.get("X-Amz-Security-Token")):
                self._answer(400, {"Content-Type": "text/xml"}, EXPIRED)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            request = urllib.request.Request(
                moto + self.path, data=body, headers=headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    status, reply_headers, answer = reply.status, dict(reply.headers), reply.read()
            except urllib.error.HTTPError as error:
                status, reply_headers, answer = error.code, dict(error.headers), error.read()
            if body and b"Action=AssumeRole&" in body + b"&" and status == 200:
                answer = sessions.issued(answer)
            self._answer(status, reply_headers, answer)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], Sessions(float(sys.argv[3])))
    threading.Event().wait()

"""A Helm chart repository served over HTTPS on 127.0.0.1, as a real one is: a self-signed
certificate made with openssl for IP 127.0.0.1, trusted by Helm through SSL_CERT_FILE (Go's
crypto/x509 reads it on Linux), served by Python's http.server behind an ssl context. Stopped by
its PID."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER = """
import http.server, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def https_server(root: Path, cert: Path, key: Path) -> Iterator[str]:
    """Serve `root` over HTTPS on 127.0.0.1; yields its URL."""
    server = subprocess.Popen(
        [sys.executable, "-u", "-c", SERVER, str(cert), str(key)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = server.stdout.readline().strip() if server.stdout else ""
        assert port.isdigit(), port
        yield f"https://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()

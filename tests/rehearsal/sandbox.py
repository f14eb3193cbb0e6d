"""A private network and mount namespace where the rehearsal's servers and stages run.

One holder process (`unshare --mount --net sleep infinity`) owns the namespaces; everything else
enters them with `nsenter`. Inside, loopback is up, /etc/hosts is a bind-mounted copy that sends
the ECR-shaped registry names (the tooling account's and AWS Marketplace's) to 127.0.0.1, and a
throwaway CA signs the registry's TLS certificate, and skopeo's blob-info cache (which
records which compressed blob stands for which uncompressed one, and lets a later copy swap one
for the other) is a folder of this sandbox's own, empty at the start as in a fresh CodeBuild
container, rather than the machine's. Nothing listens outside: the namespace has no
other interface, so port 443 here collides with nobody on the machine. Every process started
here is stopped by its PID, then the holder, which takes the namespaces with it.

Needs root (or user namespaces), util-linux's `unshare`/`nsenter`, iproute2's `ip` and openssl.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MARKETPLACE_REGISTRY = "709825985650.dkr.ecr.us-east-1.amazonaws.com"  # AWS Marketplace's ECR
BLOB_INFO_CACHE = "/var/lib/containers/cache"  # containers/image's, for root


class SandboxError(RuntimeError):
    """A server would not start, or the namespace could not be set up."""


@dataclass
class Sandbox:
    """The namespaces, and the processes started in them (stopped by `close`)."""

    root: Path
    hosts: tuple[str, ...]
    holder: subprocess.Popen[bytes] | None = None
    servers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def ca(self) -> Path:
        return self.root / "tls" / "ca.crt"

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._certificates()
        hosts = self.root / "hosts"
        lines = ["127.0.0.1 localhost", f"127.0.0.1 {' '.join(self.hosts)}", "::1 localhost"]
        hosts.write_text("\n".join(lines) + "\n")
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private", "sleep", "infinity"]
        )
        time.sleep(0.2)
        self.run(["ip", "link", "set", "lo", "up"], check=True)
        self.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
        cache = self.root / "blob-info-cache"
        cache.mkdir(exist_ok=True)
        self.run(["mkdir", "-p", BLOB_INFO_CACHE], check=True)
        self.run(["mount", "--bind", str(cache), BLOB_INFO_CACHE], check=True)

    def command(self, argv: Sequence[str], cwd: Path | None = None) -> list[str]:
        """`argv` run inside the namespaces (nsenter starts in the namespace's root folder
        unless told otherwise)."""
        if self.holder is None:
            raise SandboxError("the sandbox is not open")
        where = [f"--wd={cwd}"] if cwd else []
        return [
            "nsenter",
            "--target",
            str(self.holder.pid),
            "--net",
            "--mount",
            *where,
            "--",
            *argv,
        ]

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = False,
        timeout: float = 600,
        stdin: bytes | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(argv, cwd),
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=stdin is None,
            input=stdin,
            check=False,
            timeout=timeout,
        )
        if isinstance(result.stdout, bytes):
            result = subprocess.CompletedProcess(
                result.args,
                result.returncode,
                result.stdout.decode(errors="replace"),
                result.stderr.decode(errors="replace"),
            )
        if check and result.returncode != 0:
            raise SandboxError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
        return result

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready: Sequence[str],
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Start a server and wait until the `ready` command (run inside) succeeds."""
        with (self.root / f"{name}.log").open("wb") as log:  # the server keeps its own copy
            process = subprocess.Popen(
                self.command(argv),
                env=dict(env) if env is not None else None,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.servers[name] = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxError(f"{name} exited: {(self.root / f'{name}.log').read_text()}")
            try:
                if self.run(ready, timeout=10).returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)
        raise SandboxError(f"{name} did not become ready in 60 s")

    def close(self) -> None:
        for process in [*self.servers.values(), *([self.holder] if self.holder else [])]:
            if process.poll() is None:
                _stop(process)
        self.servers.clear()
        self.holder = None

    def _certificates(self) -> None:
        """A CA for this run only, and a certificate for every registry name it serves."""
        tls = self.root / "tls"
        tls.mkdir(exist_ok=True)
        names = ",".join(f"DNS:{host}" for host in self.hosts)
        (tls / "san.cnf").write_text(f"subjectAltName={names}\n")
        for argv in (
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=pipelinegen rehearsal CA",
            ],
            [
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "registry.key",
                "-out",
                "registry.csr",
                "-subj",
                "/CN=registry",
            ],
            [
                "x509",
                "-req",
                "-in",
                "registry.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "registry.crt",
                "-days",
                "1",
                "-extfile",
                "san.cnf",
            ],
        ):
            subprocess.run(["openssl", *argv], cwd=tls, capture_output=True, check=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's own group (nsenter and what it runs), SIGKILL after 10 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait(timeout=10)

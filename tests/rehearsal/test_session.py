"""The deploy role's session outlives its one-hour cap: deploy.sh's session.sh has the AWS CLI
assume the role again whenever it needs credentials, tried against moto's STS behind a stand-in
that ends every assumed session after a few seconds (servers/expiring.py), where a session
assumed once and exported (what deploy.sh did before) fails with ExpiredToken."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cdk.conftest import SCRIPTS
from tests.rehearsal.rehearsal import TOOLS_VENV
from tests.rehearsal.servers.expiring import Sessions, serve

pytestmark = pytest.mark.rehearsal

LIFETIME = 3.0  # seconds each assumed session lasts here (AWS: at most one hour when chained)
ROLE = "arn:aws:iam::123456789012:role/acme-platform-deploy-staging"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[str, Sessions]]:
    """moto on 127.0.0.1, behind the expiring stand-in; stopped by its PID."""
    moto_port, proxy_port = free_port(), free_port()
    moto = subprocess.Popen(
        [str(TOOLS_VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", moto_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        sessions = Sessions(LIFETIME)
        server = serve(proxy_port, f"http://127.0.0.1:{moto_port}", sessions)
        yield f"http://127.0.0.1:{proxy_port}", sessions
        server.shutdown()
        server.server_close()
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def aws_env(endpoint: str, home: Path) -> dict[str, str]:
    return {
        "PATH": f"{TOOLS_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",  # the caller's own, long-term: no expiry
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "DEPLOY_ROLE_ARN": ROLE,
        "CLUSTER_REGION": "eu-west-1",
        "ENVIRONMENT": "staging",
    }


def bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def role(endpoint: tuple[str, Sessions], tmp_path_factory: pytest.TempPathFactory) -> None:
    env = aws_env(endpoint[0], tmp_path_factory.mktemp("home"))
    result = subprocess.run(
        ["aws", "iam", "create-role", "--role-name", ROLE.rsplit("/", 1)[1],
         "--assume-role-policy-document", json.dumps(TRUST)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


IDENTITY = "aws sts get-caller-identity --query Arn --output text"


def test_the_session_is_renewed_whenever_the_cli_needs_it(
    endpoint: tuple[str, Sessions], role: None, tmp_path: Path
) -> None:
    env = aws_env(endpoint[0], tmp_path)
    script = f"""
set -euo pipefail
here={SCRIPTS}
source "$here/lib.sh"
source "$here/session.sh"
start_session "$(mktemp -d)"
{IDENTITY}
sleep {LIFETIME + 1.5}
{IDENTITY}
"""
    refused = endpoint[1].refused
    result = bash(script, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"==> assuming {ROLE} (renewed whenever the AWS CLI needs credentials)"
    after = [line for line in lines[1:] if line.startswith("arn:")]
    assert len(after) == 2
    assert all(":assumed-role/acme-platform-deploy-staging/" in line for line in after)
    assert endpoint[1].refused == refused  # no request ever went out with an expired session


def test_a_session_assumed_once_expires_mid_deploy(
    endpoint: tuple[str, Sessions], role: None, tmp_path: Path
) -> None:
    """What deploy.sh did before: assume once, export, and keep going. The stand-in ends it."""
    env = aws_env(endpoint[0], tmp_path)
    script = f"""
set -euo pipefail
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN < <(aws sts assume-role \\
  --role-arn {ROLE} --role-session-name once --duration-seconds 3600 \\
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
{IDENTITY}
sleep {LIFETIME + 1.5}
{IDENTITY}
"""
    result = bash(script, env)
    assert result.returncode != 0
    assert ":assumed-role/acme-platform-deploy-staging/once" in result.stdout
    assert "(ExpiredToken)" in result.stderr

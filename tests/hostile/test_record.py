"""The record of generated files is input from the repository: it names only generated paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipelinegen import naming
from tests.hostile.conftest import run, tree


@pytest.mark.parametrize(
    "listed",
    [
        "../victim.txt",
        ".git/HEAD",
        "deploy/cdk/../../.git/HEAD",
        "./deploy/cdk/app.py",
        "deploy//cdk/x",
        "/etc/hostname",
        "deploy/cdk/.GIT/config",
        "Dockerfile",
    ],
)
def test_a_record_naming_a_path_pipelinegen_never_writes_deletes_nothing(
    minimal: Path, listed: str
) -> None:
    spec = str(minimal / "pipeline.yaml")
    assert run("compile", spec)[0] == 0
    victim = minimal.parent / "victim.txt"
    victim.write_text("mine\n")
    (minimal / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    record = json.loads((minimal / naming.RECORD).read_text())
    for text in ("mine\n", "ref: refs/heads/main\n", (minimal / "Dockerfile").read_text()):
        record["files"][listed] = hashlib.sha256(text.encode()).hexdigest()
        (minimal / naming.RECORD).write_text(json.dumps(record))
        before = tree(minimal.parent)
        code, _, err = run("compile", spec)
        assert code == 1 and f"{naming.RECORD} lists {listed!r}" in err
        assert tree(minimal.parent) == before
        assert run("compile", "--check", spec)[0] == 1


def test_a_record_with_a_digest_that_is_not_sha256_is_refused(minimal: Path) -> None:
    spec = str(minimal / "pipeline.yaml")
    run("compile", spec)
    record = json.loads((minimal / naming.RECORD).read_text())
    record["files"][naming.CI_WORKFLOW] = ["not", "a", "digest"]
    (minimal / naming.RECORD).write_text(json.dumps(record))
    code, _, err = run("compile", spec)
    assert code == 1 and "the record was edited" in err

"""The compile cache is not trusted: it can make `compile --check` faster, never more lenient,
and nothing in it runs unless this user wrote it into a folder only this user can write."""

from __future__ import annotations

import json
import marshal
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2.bccache
import pytest

from pipelinegen import naming, record
from tests.hostile.conftest import run


@pytest.fixture
def cached(full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The full example compiled, with a cache folder of its own that the compile filled."""
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(tmp_path / "cache"))
    assert run("compile", str(full / "pipeline.yaml"))[0] == 0
    return tmp_path / "cache"


def test_a_hand_made_entry_does_not_pass_a_stale_spec(full: Path, cached: Path) -> None:
    (full / "web" / "docker" / "Dockerfile").unlink()  # the spec names it: the check must fail
    digest = record.digest((full / naming.RECORD).read_bytes())
    for entry in (cached / "compile").glob("*.json"):
        stored = json.loads(entry.read_text())
        entry.write_text(json.dumps({**stored, "answers": [], "record": digest}))
    code, _, err = run("compile", "--check", str(full / "pipeline.yaml"))
    assert code == 1 and "file 'web/docker/Dockerfile' does not exist" in err


def _crafted(original: bytes, marker: Path) -> bytes:
    """A compiled-template file that keeps the checksum of `original` (so jinja2 would load it)
    and whose code writes `marker`."""
    start = original.index(jinja2.bccache.bc_magic)
    payload = original[start + len(jinja2.bccache.bc_magic) :]
    checksum = pickle.loads(payload)
    code = compile(f"open({str(marker)!r}, 'w').write('ran')", "<crafted>", "exec")
    forged = jinja2.bccache.bc_magic + pickle.dumps(checksum, 2) + marshal.dumps(code)
    return original[:start] + forged


def _compile(spec: Path) -> subprocess.CompletedProcess[str]:
    """A compile in a process of its own: this one keeps its templates in memory."""
    command = [sys.executable, "-m", "pipelinegen", "compile", str(spec)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_a_crafted_compiled_template_is_not_run(full: Path, cached: Path, tmp_path: Path) -> None:
    spec = full / "pipeline.yaml"
    spec.write_text(spec.read_text().replace("acme-prod", "acme-production"))
    assert _compile(spec).returncode == 0
    marker = tmp_path / "ran"
    compiled = [p for p in (cached / "templates").rglob("*") if p.is_file()]
    assert compiled
    for path in compiled:
        path.write_bytes(_crafted(path.read_bytes(), marker))
    spec.write_text(spec.read_text().replace("acme-production", "acme-prod"))
    result = _compile(spec)
    # Nothing on stderr but compile's note that this checkout's editable pipelinegen is not
    # one CI can install (tests/test_provenance.py).
    noted = [line for line in result.stderr.splitlines() if not line.startswith("warning: this")]
    assert (result.returncode, noted) == (0, [])
    assert not marker.exists()


def test_a_cache_folder_of_another_user_is_not_used(
    full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 65534, 65534)
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(foreign))
    assert run("compile", str(full / "pipeline.yaml"))[0] == 0
    assert list(foreign.iterdir()) == []


def test_a_linked_cache_folder_is_not_used(
    full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(tmp_path / "link"))
    assert run("compile", str(full / "pipeline.yaml"))[0] == 0
    assert list(real.iterdir()) == []


def test_a_cache_folder_of_this_user_is_narrowed_to_0700(
    full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(loose))
    assert run("compile", str(full / "pipeline.yaml"))[0] == 0
    assert loose.stat().st_mode & 0o777 == 0o700
    assert list((loose / "compile").iterdir())
    shutil.rmtree(loose)

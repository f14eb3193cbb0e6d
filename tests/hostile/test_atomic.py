"""compile is all or nothing: under kill -9 at any moment, two compiles at once, and I/O errors.

The kill loop runs KILL_LOOPS kills (25 by default, bounded for CI; KILL_LOOPS=200 for more).
Each run compiles in a child process that loads and renders first and says so, then is killed
after a random delay spread over the time it takes to write; the next compile's recovery
(output.recover) must then leave exactly the old or the new tree, and no staging folder.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelinegen import naming, output
from tests.hostile.conftest import run, tree

KILL_LOOPS = int(os.environ.get("KILL_LOOPS", "25"))

# Loads and renders, says "ready", then writes exactly as `pipelinegen compile` does.
_CHILD = """
import sys, time
from pathlib import Path
from pipelinegen import output
from pipelinegen.render import Source, render
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree

spec = Path(sys.argv[1])
root, text = spec.parent, spec.read_text()
loaded = load(text, file=str(spec), repository=WorkingTree(root))
files = render(loaded, Source(path=spec.name, text=text))
print("ready", flush=True)
start = time.perf_counter()
with output.lock(root):
    output.recover(root)
    output.apply(root, output.plan(root, files))
print(time.perf_counter() - start, flush=True)
"""


def _specs(repo: Path) -> tuple[Path, Path]:
    """Two specs whose outputs differ in most files, one of them with a file the other lacks."""
    text = (repo / "pipeline.yaml").read_text()
    first, second = repo / "a.yaml", repo / "b.yaml"
    first.write_text(text.replace("docs/marketplace-usage.md", '"Install with Helm."'))
    second.write_text(
        text.replace("acme-prod", "acme-production").replace("name: acme", "name: acme2", 1)
    )
    return first, second


def _generated(repo: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(repo).items() if k.startswith(naming.GENERATED_AREAS)}


def _child(spec: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(spec)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PIPELINEGEN_NO_CACHE": "1"},
    )


def test_kill_9_at_random_moments_leaves_the_old_or_the_new_tree(full: Path) -> None:
    first, second = _specs(full)
    states = []
    for spec in (first, second):
        assert run("compile", str(spec))[0] == 0
        states.append(_generated(full))
    assert states[0] != states[1]
    child = _child(first)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    window = float(child.communicate()[0]) * 1.5
    assert _generated(full) == states[0]
    outcomes = {0: 0, 1: 0}
    rng = random.Random(12)
    for _ in range(KILL_LOOPS):
        before = states.index(_generated(full))
        child = _child((first, second)[1 - before])
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0, window))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        output.recover(full)
        after = _generated(full)
        assert after in states, "a kill -9 left a mix of old and new files"
        assert not [p for p in tree(full) if output.STAGING_PREFIX in p]
        assert not [p.name for p in (full / naming.STATE_DIR).iterdir() if p.name.startswith(".")]
        outcomes[states.index(after) == before] += 1
    assert outcomes[0] and outcomes[1], f"every kill landed on one side: {outcomes}"


def test_an_interrupted_compile_is_finished_by_the_next_one_and_blocks_check(full: Path) -> None:
    first, second = _specs(full)
    assert run("compile", str(first))[0] == 0
    child = _child(second)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    child.communicate()
    expected = _generated(full)
    assert run("compile", str(first))[0] == 0
    # Replay a kill after the journal: stage the second spec's change by hand, stop before it moves.
    files = {p: v.decode() for p, v in expected.items()}
    changes = output.plan(full, files)
    staged = _stage_only(full, changes)
    code, _, err = run("compile", "--check", str(second))
    assert code == 1 and f"an interrupted compile left {staged}" in err
    code, _, err = run("compile", str(first))
    assert (code, err) == (0, "")
    assert not (full / staged).exists()


def _stage_only(root: Path, changes: output.Changes) -> str:
    from pipelinegen.folders import Root

    with Root(root) as folders:
        state = folders.folder(naming.STATE_DIR)
        assert state is not None
        os.mkdir(f"{output.STAGING_PREFIX}test", 0o700, dir_fd=state)
        output._stage(folders, f"{output.STAGING_PREFIX}test", changes)
    return f"{naming.STATE_DIR}/{output.STAGING_PREFIX}test"


def test_two_compiles_at_once_leave_one_of_the_two_trees(full: Path) -> None:
    first, second = _specs(full)
    states = []
    for spec in (first, second):
        assert run("compile", str(spec))[0] == 0
        states.append(_generated(full))
    command = [sys.executable, "-m", "pipelinegen", "compile"]
    for _ in range(3):
        children = [
            subprocess.Popen([*command, str(s)], stderr=subprocess.PIPE) for s in (first, second)
        ]
        for child in children:
            child.communicate()
        assert [c.returncode for c in children] == [0, 0]
        assert _generated(full) in states


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))


def test_a_write_error_exits_1_with_the_path_and_leaves_nothing(full: Path) -> None:
    first, second = _specs(full)
    assert run("compile", str(first))[0] == 0
    before = tree(full)
    result = subprocess.run(
        [sys.executable, "-m", "pipelinegen", "compile", str(second)],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        env={**os.environ, "PIPELINEGEN_NO_CACHE": "1"},
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: cannot write ") and "File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree(full) == before
    assert not [p for p in (full / naming.STATE_DIR).iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "entry",
    [
        ["write", "../victim.txt", "0", "0" * 64],
        ["delete", ".git/HEAD", "", "0" * 64],
        ["write", "deploy/cdk/app.py", "../../../victim.txt", "0" * 64],
        ["write", "deploy/cdk/app.py", "0", "0" * 64],
    ],
)
def test_a_journal_in_the_checkout_is_not_trusted(full: Path, entry: list[str]) -> None:
    assert run("compile", str(full / "pipeline.yaml"))[0] == 0
    staging = full / naming.STATE_DIR / f"{output.STAGING_PREFIX}0"
    staging.mkdir()
    (staging / "0").symlink_to("../../../victim.txt")
    (staging / output.JOURNAL).write_text(json.dumps([entry]))
    (full.parent / "victim.txt").write_text("mine\n")
    before = tree(full.parent)
    code, _, err = run("compile", str(full / "pipeline.yaml"))
    assert code == 1 and "does not describe an interrupted compile" in err
    assert tree(full.parent) == before

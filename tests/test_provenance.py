"""The generated jobs install the pipelinegen that compiled them, from where it came (PEP 610).

The end-to-end test installs pipelinegen into a fresh venv from a git URL at a commit of this
working tree, runs `init` in a fresh repository, then runs the generated stale-check job's
install step as the workflow writes it. Stand-in, named: the https URL
`https://git.pipelinegen.test/acme/pipelinegen.git` is mapped by git's own `url.<base>.insteadOf`
(given to git through GIT_CONFIG_COUNT/KEY/VALUE, as a runner's git config would be) to the
scratch bare repository of this working tree; pip, the spec and the workflow see only the https
URL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pipelinegen import __version__, naming, provenance
from pipelinegen.render.templating import yaml_scalar
from pipelinegen.spec import placeholders
from tests.conftest import ROOT
from tests.snapshot import Snapshot, git
from tests.steps import run_step, shell_steps

REAL_ORIGIN = provenance.origin  # before tests/conftest.py stands in for it
URL = "https://git.pipelinegen.test/acme/pipelinegen.git"
LAYOUT = {
    "services/web/Dockerfile": "FROM scratch\n",
    "deploy/chart/Chart.yaml": "apiVersion: v2\nname: platform\nversion: 1.0.0\n",
    "deploy/chart/values.yaml": "web:\n  image:\n    repository: nginx\n    tag: latest\n",
}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _record(**fields: object) -> str:
    return json.dumps(fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _record(url=URL, vcs_info={"vcs": "git", "commit_id": COMMIT}),
            provenance.Origin("git", URL, COMMIT),
        ),
        (  # a token in the URL never reaches the spec
            _record(
                url="https://x-access-token:secret@github.com/acme/pipelinegen.git",
                vcs_info={"vcs": "git", "commit_id": COMMIT, "requested_revision": "main"},
            ),
            provenance.Origin("git", "https://github.com/acme/pipelinegen.git", COMMIT),
        ),
        (  # CI cannot clone over ssh without a key: local
            _record(
                url="ssh://git@github.com/acme/pipelinegen.git",
                vcs_info={"vcs": "git", "commit_id": COMMIT},
            ),
            provenance.Origin("local", "ssh://github.com/acme/pipelinegen.git", COMMIT),
        ),
        (
            _record(url="file:///src/pipelinegen", dir_info={"editable": True}),
            provenance.Origin("local", "file:///src/pipelinegen", editable=True),
        ),
        (
            _record(url="file:///src/pipelinegen", dir_info={}),
            provenance.Origin("local", "file:///src/pipelinegen"),
        ),
        (  # a crafted record: a short commit, a URL that could change a YAML file's structure
            _record(url="https://h/x.git\nname: evil", vcs_info={"vcs": "git", "commit_id": "abc"}),
            provenance.Origin("local", "https://h/x.git\nname: evil", "abc"),
        ),
        ("not json", provenance.Origin("local")),
        ("[]", provenance.Origin("local")),
    ],
)
def test_the_record_says_where_pipelinegen_came_from(
    text: str, expected: provenance.Origin
) -> None:
    assert provenance.parse(text) == expected


def test_the_advice_names_the_fix() -> None:
    git_origin = provenance.Origin("git", URL, COMMIT)
    assert provenance.advice(None, provenance.Origin("index")) is None
    assert provenance.advice((URL, COMMIT), git_origin) is None
    added = provenance.advice(None, git_origin)
    assert added is not None and f'pipelinegen:\n  git: {URL}\n  commit: "{COMMIT}"' in added
    moved = provenance.advice((URL, "f" * 40), git_origin)
    assert moved is not None and f'set pipelinegen.commit to "{COMMIT}"' in moved
    local = provenance.advice(None, provenance.Origin("local", "file:///src", editable=True))
    assert local is not None and local.startswith("this pipelinegen is an editable install")
    assert f"pipelinegen=={__version__} from the package index" in local


def test_compile_warns_when_ci_cannot_install_the_running_pipelinegen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This checkout's pipelinegen is editable: compile says CI cannot install it."""
    monkeypatch.setattr(provenance, "origin", REAL_ORIGIN)
    from click.testing import CliRunner

    from pipelinegen.cli import cli

    shutil.copytree(ROOT / "examples" / "minimal", tmp_path, dirs_exist_ok=True)
    spec = tmp_path / "pipeline.yaml"
    result = CliRunner().invoke(cli, ["compile", str(spec)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("warning: this pipelinegen is an editable install")


def _insteadof(bare: Path) -> dict[str, str]:
    """git's own URL rewriting: the https URL is fetched from the scratch bare repository."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{bare.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": URL,
        "GIT_TERMINAL_PROMPT": "0",
    }


def _pip_install_from_git(python: Path, commit: str, env: dict[str, str]) -> None:
    """The documented way (docs/installing.md): dependencies by hash, then pipelinegen from the
    git URL at a commit."""
    install = ROOT / "templates" / "install"
    for args in (
        [
            *("--require-hashes", "--only-binary", ":all:", "--no-deps"),
            *("-r", str(install / "requirements.txt")),
            *("-r", str(install / "build-requirements.txt")),
        ],
        ["--no-deps", "--no-build-isolation", f"pipelinegen @ git+{URL}@{commit}"],
    ):
        done = subprocess.run(
            [str(python / "bin" / "python"), "-m", "pip", "install", "--quiet", *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_init_pins_the_git_commit_it_was_installed_from_and_ci_installs_it(
    tmp_path: Path, working_tree: Snapshot
) -> None:
    rewrite = _insteadof(working_tree.repository)
    laptop = tmp_path / "laptop"
    venv.create(laptop, with_pip=True)
    _pip_install_from_git(laptop, working_tree.commit, rewrite)

    root = tmp_path / "platform"
    for name, content in LAYOUT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(root))
    git(root, "remote", "add", "origin", "https://github.com/acme/platform.git")
    env = {**os.environ, **rewrite, "PATH": f"{laptop / 'bin'}:/usr/bin:/bin"}

    def pipelinegen(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(laptop / "bin" / "pipelinegen"), *args]
        return subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, check=False
        )

    assert pipelinegen("init").returncode == 0
    spec = root / "pipeline.yaml"
    data = YAML(typ="safe").load(spec)
    assert data["pipelinegen"] == {"git": URL, "commit": working_tree.commit}
    text = spec.read_text().replace('"000000000000"', '"123456789012"')
    text = text.replace("your-staging-cluster", "acme-staging").replace(
        "your-prod-cluster", "acme-prod"
    )
    spec.write_text(text.replace(yaml_scalar(placeholders.TEST_COMMAND), "make test"))
    compiled = pipelinegen("compile")
    assert compiled.returncode == 0, compiled.stderr
    assert "warning" not in compiled.stderr  # CI installs this very pipelinegen

    workflow = YAML(typ="safe").load(root / naming.CI_WORKFLOW)
    (install, *_) = shell_steps(workflow["jobs"]["pipelinegen"]["steps"])
    assert install["env"]["PIPELINEGEN"] == f"pipelinegen @ git+{URL}@{working_tree.commit}"
    runner = tmp_path / "runner"  # what actions/setup-python leaves on PATH
    venv.create(runner, with_pip=True)
    ran = run_step(install, cwd=root, env={**rewrite, "PATH": f"{runner / 'bin'}:/usr/bin:/bin"})
    assert ran.returncode == 0, ran.stdout
    version = subprocess.run(
        [str(runner / "bin" / "pipelinegen"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout == f"pipelinegen, version {__version__}\n"
    record = subprocess.run(
        [str(runner / "bin" / "python"), "-c", "from importlib import metadata; "
         "print(metadata.distribution('pipelinegen').read_text('direct_url.json'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(record.stdout)["vcs_info"]["commit_id"] == working_tree.commit

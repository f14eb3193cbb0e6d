"""Every AWS call the generated pipeline makes retries as AWS recommends (pipelinegen.retries):
the release workflow's jobs, each CodeBuild buildspec, and every script, shell or Python, that
runs `aws`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pipelinegen import naming, retries
from tests.cdk.conftest import SCRIPTS
from tests.cdk.test_marketplace import _load
from tests.render.test_cdk_app import PIPELINE_SPECS, buildspecs, load

AWS_CALL = re.compile(r"(^|[\s(|&;`$])aws\s|\"aws\"|configure-aws-credentials", re.MULTILINE)


def test_the_settings_retry_more_than_the_cli_default() -> None:
    assert retries.ENVIRONMENT["AWS_RETRY_MODE"] in ("standard", "adaptive")
    assert int(retries.ENVIRONMENT["AWS_MAX_ATTEMPTS"]) > 3  # the CLI's default is 3 in all


def test_every_release_workflow_sets_them_for_every_job(compiled: dict[str, Path]) -> None:
    for name, root in compiled.items():
        for path in (root / ".github" / "workflows").glob("*.yml"):
            text = path.read_text(encoding="utf-8")
            workflow = YAML(typ="safe").load(text)
            if path.name == Path(naming.RELEASE_WORKFLOW).name:
                assert workflow["env"] == retries.ENVIRONMENT, (name, path.name)
            else:  # CI and the pull-request diff call no AWS API
                assert not AWS_CALL.search(text), (name, path.name)
            for job in workflow["jobs"].values():  # no job takes them away
                assert not set(job.get("env", {})) & set(retries.ENVIRONMENT), (name, path)


@pytest.mark.parametrize("name", PIPELINE_SPECS)
def test_every_buildspec_sets_them(synthesized: dict[str, Path], name: str) -> None:
    found = buildspecs(load(synthesized[name], "pipeline"))
    assert found
    for project, buildspec in found.items():
        assert buildspec["env"]["variables"] == retries.ENVIRONMENT, project


def test_every_shell_script_that_calls_aws_sets_them() -> None:
    lib = (SCRIPTS / "lib.sh").read_text()
    for key, value in retries.ENVIRONMENT.items():
        assert f'export {key}="${{{key}:-{value}}}"' in lib
    for script in sorted(SCRIPTS.glob("*.sh")):
        text = script.read_text()
        sourced = not text.startswith("#!")  # a library deploy.sh sources after lib.sh
        if AWS_CALL.search(text) and script.name != "lib.sh" and not sourced:
            assert 'source "$here/lib.sh"' in text, script.name


@pytest.mark.parametrize("name", ["marketplace", "running"])
def test_every_python_script_that_calls_aws_sets_them(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run through a stand-in `aws` that prints the environment it was given."""
    sys.path.insert(0, str(SCRIPTS))
    module = _load(name)
    fake = tmp_path / "aws"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os\n"
        "keys = ('AWS_RETRY_MODE', 'AWS_MAX_ATTEMPTS')\n"
        "print(json.dumps({k: os.environ.get(k) for k in keys}))\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    assert module.run_aws(["sts", "get-caller-identity"]) == retries.ENVIRONMENT
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "20")  # a caller's own setting wins
    assert module.run_aws(["sts", "get-caller-identity"])["AWS_MAX_ATTEMPTS"] == "20"


def test_no_other_script_calls_aws_on_its_own() -> None:
    """A new Python script that runs `aws` must be added to the test above."""
    callers = {
        path.stem
        for path in SCRIPTS.glob("*.py")
        if re.search(r"\[\s*\"aws\"", path.read_text()) or "boto3" in path.read_text()
    }
    assert callers == {"marketplace", "running"}


def test_a_shell_script_runs_aws_with_them(tmp_path: Path) -> None:
    script = tmp_path / "probe.sh"
    script.write_text(
        f'here="{SCRIPTS}"\nsource "$here/lib.sh"\n'
        'printf \'{"AWS_RETRY_MODE": "%s", "AWS_MAX_ATTEMPTS": "%s"}\' '
        '"$AWS_RETRY_MODE" "$AWS_MAX_ATTEMPTS"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert json.loads(result.stdout) == retries.ENVIRONMENT

"""The team's CDK hook, deploy/cdk/extend.py: `validate` reads it with `ast` only, `compile`
never touches it, the app runs it in a real synth (the organisation's settings reach what it
adds), and `diff` shows it as a high-risk change and, with --synth, the resources it adds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen import naming
from pipelinegen.cli import cli
from pipelinegen.synthesis import synthesize
from tests.conftest import ROOT, init_repo
from tests.snapshot import git

# What a team writes: an alarm on the pipeline's failed executions, and a policy of its own on
# the Helm deploy project's role (read the stacks by construct id, as app.py names them).
EXTEND = '''\
"""Our additions to the generated CDK app."""

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam


def extend(stacks, spec):
    pipeline = stacks[spec["stacks"]["pipeline"]]
    cloudwatch.Alarm(
        pipeline,
        "FailedReleases",
        metric=cloudwatch.Metric(
            namespace="AWS/CodePipeline",
            metric_name="FailedPipelineExecutions",
            dimensions_map={"PipelineName": spec["project"]},
            period=Duration.hours(1),
            statistic="Sum",
        ),
        threshold=1,
        evaluation_periods=1,
    )
    audit = iam.Role(
        pipeline,
        "AuditRole",
        assumed_by=iam.AccountPrincipal(spec["account"]),
        description="Read-only access for the auditors",
    )
    audit.add_to_policy(
        iam.PolicyStatement(actions=["codepipeline:GetPipelineState"], resources=["*"])
    )
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "minimal", root)
    init_repo(root)
    return root


def run(*args: str, stdout: bool = False) -> tuple[int, str]:
    """The exit code and what the command printed (on stdout alone: a JSON report)."""
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout if stdout else result.output


def test_compile_leaves_the_hook_alone_and_stays_current(repo: Path) -> None:
    hook = repo / naming.CDK_EXTENSION
    hook.write_text(EXTEND)
    spec = str(repo / "pipeline.yaml")
    assert run("compile", "--check", spec)[0] == 0
    assert run("compile", "--force", spec)[0] == 0
    assert hook.read_text() == EXTEND
    assert run("validate", spec, stdout=True) == (0, f"{spec}: valid\n")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("def extend(stacks, spec:\n    pass\n", "2:11", "extend.py does not parse: "),
        ("import os\n", "1:1", "extend.py defines no function `extend(stacks, spec)`"),
        ("def extend(stacks):\n    pass\n", "1:1", "extend.py defines no function"),
    ],
)
def test_validate_reads_the_hook_without_running_it(
    repo: Path, text: str, where: str, message: str
) -> None:
    marker = repo / "ran"
    (repo / naming.CDK_EXTENSION).write_text(f"open({str(marker)!r}, 'w')\n{text}")
    code, out = run("validate", str(repo / "pipeline.yaml"))
    assert code == 1
    assert f"deploy/cdk/extend.py:{where}: {message}" in out
    assert not marker.exists()


def test_a_hook_that_leads_outside_is_refused(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.py").write_text(EXTEND)
    (repo / naming.CDK_EXTENSION).symlink_to(tmp_path / "elsewhere.py")
    code, out = run("validate", str(repo / "pipeline.yaml"))
    assert code == 1
    assert "deploy/cdk/extend.py:1:1: 'deploy/cdk/extend.py' is a symbolic link that leads" in out


def test_the_app_runs_the_hook_and_diff_shows_what_it_adds(repo: Path, tmp_path: Path) -> None:
    spec = repo / "pipeline.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  region: eu-west-1\n",
            "  region: eu-west-1\n  permissions_boundary: acme-boundary\n  tags: {team: core}\n",
        )
    )
    assert run("compile", str(spec))[0] == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "organisation settings")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / naming.CDK_EXTENSION).write_text(EXTEND)

    code, out = run("diff", str(spec), "--synth", "--format", "json", stdout=True)
    assert code == 0, out
    report = json.loads(out)
    assert {
        "risk": "high",
        "topic": "extension",
        "rule": "cdk-extension",
        "message": "the CDK app's extension 'deploy/cdk/extend.py' is added (it runs as code "
        "in every synth)",
    } in report["changes"]
    added = {
        (row["type"], row["logical_id"].rstrip("0123456789ABCDEF"))
        for row in report["cloudformation"]["resources"]
        if row["status"] == "added"
    }
    assert ("AWS::CloudWatch::Alarm", "FailedReleases") in added
    assert ("AWS::IAM::Role", "AuditRole") in added

    files = {path: p.read_text() for path in [naming.CDK_EXTENSION] if (p := repo / path)}
    files.update(
        {
            p.relative_to(repo).as_posix(): p.read_text()
            for p in (repo / naming.CDK_APP_DIR).rglob("*")
            if p.is_file()
        }
    )
    templates = synthesize(files, tmp_path / "out")
    [pipeline] = [t for name, t in templates.items() if name.endswith("-pipeline")]
    [role] = [
        r
        for lid, r in pipeline["Resources"].items()
        if lid.startswith("AuditRole") and r["Type"] == "AWS::IAM::Role"
    ]
    assert "acme-boundary" in json.dumps(role["Properties"]["PermissionsBoundary"])
    assert {"Key": "team", "Value": "core"} in role["Properties"]["Tags"]

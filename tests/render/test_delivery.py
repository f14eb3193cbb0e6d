"""`delivery: github` runs the same scripts as the pipeline: for every spec, each delivery job
of the GitHub-mode release workflow runs, for the same stage, the command the CodeBuild action
of the AWS-mode pipeline runs (read from the really synthesized template), in the extracted
release, with the same values for every variable the script reads. And the GitHub-mode CDK app
deploys the repositories and roles those jobs need, and no bucket or pipeline."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen import naming
from tests.conftest import ROOT
from tests.policy import allows
from tests.render.conftest import compile_text, delivery, spec_texts
from tests.render.test_cdk_app import buildspecs, load, resources
from tests.render.test_trust import token
from tests.render.test_workflow_linters import run, tool

SCRIPTS = ROOT / "templates" / "cdk" / "scripts"
SCRIPT = re.compile(r"(?:^|&& )(bash cdk/scripts/[a-z-]+\.sh)$")
# Values that differ between the modes on purpose: each mode's release carries its own spec
# (checked below against the spec's sha256), and a GitHub-hosted job ends after 6 hours where
# CodeBuild may wait 7 for the Marketplace change set; and each mode's deploy runs where its
# own key puts it (`environments[].network`: the project's VPC; `environments[].runner`: the
# job's runner).
# IMAGES_DIR: CodeBuild's $CODEBUILD_SRC_DIR_Images (set in the build command), the job's
# ../images.
DIFFERENT = {"EXPECTED_SPEC_SHA256", "MARKETPLACE_TIMEOUT", "DEPLOY_NETWORK", "IMAGES_DIR"}
PSEUDO = {"AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws"}


def _pairs() -> list[tuple[str, str]]:
    """(the spec compiled with `delivery: aws`, the same spec with `delivery: github`)."""
    texts = spec_texts()
    pairs = []
    for name in texts:
        if name.endswith("-flipped"):
            continue
        flipped = f"{name}-flipped"
        aws, github = (name, flipped) if delivery(texts[name]) == "aws" else (flipped, name)
        pairs.append((aws, github))
    return pairs


PAIRS = _pairs()


def _value(value: Any) -> str:
    """A CodeBuild variable's value, with CloudFormation's pseudo parameters resolved."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return PSEUDO[value["Ref"]]
    separator, parts = value["Fn::Join"]
    return str(separator).join(_value(part) for part in parts)


def _read_by(script: str) -> set[str]:
    """The names a script could read from its environment: every upper-case word in it (`$NAME`,
    `${NAME:-…}`, `require_env NAME`)."""
    text = (SCRIPTS / script.removeprefix("bash cdk/scripts/")).read_text()
    return set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", text))


def codebuild_stages(out: Path) -> list[tuple[str, dict[str, str]]]:
    """(the script command, its environment) of every CodeBuild action that runs a script."""
    template = load(out, "pipeline")
    found = []
    for logical_id, buildspec in buildspecs(template).items():
        build = buildspec["phases"]["build"]["commands"]  # the install phase installs tools
        scripts = [m[1] for c in build if (m := SCRIPT.search(c))]
        if not scripts:
            continue
        [script] = scripts
        environment = template["Resources"][logical_id]["Properties"]["Environment"]
        env = {v["Name"]: _value(v["Value"]) for v in environment.get("EnvironmentVariables", [])}
        found.append((script, env))
    return found


def workflow_stages(root: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(job id, the script command, its environment) of every release job step that runs one,
    each checked to run in the release extracted from this run's zip."""
    workflow = YAML(typ="safe", pure=True).load((root / naming.RELEASE_WORKFLOW).read_text())
    found = []
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if step.get("run", "").startswith("bash cdk/scripts/"):
                assert step["working-directory"] == "release", (job_id, step)
                extract = [
                    s["env"]
                    for s in job["steps"]
                    if s.get("name", "").startswith("Check and extract")
                ]
                assert extract[0]["ZIP"] == "dist/release.zip" and extract[0]["FOLDER"] == "release"
                if "IMAGES_DIR" in step["env"]:  # the images, extracted where the script reads them
                    assert extract[1]["ZIP"] == "dist/release.images.zip"
                    assert (
                        f"release/{step['env']['IMAGES_DIR']}"
                        == f"release/../{extract[1]['FOLDER']}"
                    )
                found.append((job_id, step["run"], {k: str(v) for k, v in step["env"].items()}))
    return found


@pytest.mark.parametrize(("aws", "github"), PAIRS)
def test_each_delivery_job_runs_the_codebuild_action_of_its_stage(
    synthesized: dict[str, Path], compiled: dict[str, Path], aws: str, github: str
) -> None:
    pipeline = codebuild_stages(synthesized[aws])
    jobs = workflow_stages(compiled[github])
    assert len(jobs) == len(pipeline) >= 2  # push, and one deploy per environment at least
    spec = json.loads((compiled[github] / naming.CDK_SPEC).read_text())
    environments = [e["name"] for e in spec["environments"]]
    expected_jobs = ["push", *(f"deploy-{name}" for name in environments)]
    assert [job for job, script, _ in jobs if "publish-marketplace" not in script] == expected_jobs
    for job, script, env in jobs:
        # The stage of the CodeBuild action: the script, and for a deploy the environment.
        [(_, codebuild)] = [
            (s, e)
            for s, e in pipeline
            if s == script and e.get("ENVIRONMENT") == env.get("ENVIRONMENT")
        ]
        read = _read_by(script) - DIFFERENT
        assert {k: v for k, v in env.items() if k in read} == {
            k: v for k, v in codebuild.items() if k in read
        }, job
        assert set(env) - DIFFERENT <= read, (job, "a variable the script never reads")
        if "EXPECTED_SPEC_SHA256" in env:
            assert env["EXPECTED_SPEC_SHA256"] == spec["spec_sha256"]
            assert (
                spec["spec_sha256"]
                == hashlib.sha256(spec_texts()[github].encode("utf-8")).hexdigest()
            )


@pytest.mark.parametrize("github", [github for _, github in PAIRS])
def test_github_mode_deploys_repositories_and_roles_only(
    synthesized: dict[str, Path], compiled: dict[str, Path], github: str
) -> None:
    out = synthesized[github]
    spec = json.loads((compiled[github] / naming.CDK_SPEC).read_text())
    names = sorted(p.name.removesuffix(".template.json") for p in out.glob("*.template.json"))
    project = spec["project"]
    assert names == sorted([f"{project}-registry", *(e["stack"] for e in spec["environments"])])
    kinds = {
        r["Type"]
        for p in out.glob("*.template.json")
        for r in json.loads(p.read_text())["Resources"].values()
    }
    assert kinds <= {
        "AWS::ECR::Repository",
        "AWS::ECR::RegistryScanningConfiguration",  # with aws.registry_scanning
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::OIDCProvider",
        "AWS::EKS::AccessEntry",
    }
    registry = load(out, "registry")
    repositories = resources(registry, "AWS::ECR::Repository")
    assert len(repositories) == len(spec["images"]) + len(spec["third_party_images"])
    # Scanned on push: by the registry's configuration when the spec owns it, else each one asks.
    owned = bool(spec.get("registry_scanning"))
    assert all(
        owned or r["Properties"]["ImageScanningConfiguration"]["ScanOnPush"] for r in repositories
    )
    # One GitHub OIDC provider per account (IAM holds one per URL).
    accounts = [spec["account"], *(e["account"] for e in spec["environments"])]
    providers = sum(
        len(resources(json.loads(p.read_text()), "AWS::IAM::OIDCProvider"))
        for p in out.glob("*.template.json")
    )
    assert providers == len(set(accounts)) - (1 if spec["github"]["oidc_provider_arn"] else 0)


def _trust(template: dict[str, Any], role_name: str) -> dict[str, Any]:
    [role] = [
        r for r in resources(template, "AWS::IAM::Role") if r["Properties"]["RoleName"] == role_name
    ]
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement  # type: ignore[no-any-return]


@pytest.mark.parametrize("ids", [None, ("1000", "2000")])
def test_each_deploy_role_trusts_only_its_github_environment(
    synthesized: dict[str, Path], ids: tuple[str, str] | None
) -> None:
    """Tokens as GitHub issues them, in both subject formats, against each synthesized role."""
    out = synthesized["example-github-delivery"]
    repository = "acme/platform"
    names = ["dev", "staging", "prod"]
    for name in names:
        trust = _trust(load(out, f"target-{name}"), f"acme-platform-deploy-{name}")
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        for other in [*names, "release"]:
            claims = token(repository=repository, environment=other, ids=ids)
            assert allows(trust, claims) is (other == name), (name, other)
        assert not allows(trust, token(repository=repository, environment=None, ids=ids))
        assert not allows(trust, token(repository="acme/other", environment=name, ids=ids))
        assert not allows(
            trust, token(repository=repository, environment=name, ids=ids, ref="refs/heads/main")
        )
    registry = load(out, "registry")
    push = _trust(registry, "acme-platform-release-push")
    assert allows(push, token(repository=repository, environment="release", ids=ids))
    assert not allows(push, token(repository=repository, environment="prod", ids=ids))
    marketplace = _trust(registry, "acme-platform-marketplace-publish")
    assert allows(marketplace, token(repository=repository, environment="prod", ids=ids))
    assert not allows(marketplace, token(repository=repository, environment="staging", ids=ids))


@pytest.mark.parametrize("github", [github for _, github in PAIRS])
def test_delivery_jobs_run_in_promotion_order_each_in_its_github_environment(
    compiled: dict[str, Path], github: str
) -> None:
    """After `package` (which then assumes no role and uploads nothing): `push` in the release
    environment, then each environment's job in the GitHub environment of its name, each after
    the one before, holding only the OIDC token permission (and, where the spec asks for an
    approval, the one that reads the environment's required reviewers)."""
    workflow = YAML(typ="safe", pure=True).load(
        (compiled[github] / naming.RELEASE_WORKFLOW).read_text()
    )
    jobs = workflow["jobs"]
    spec = json.loads((compiled[github] / naming.CDK_SPEC).read_text())
    package = jobs["package"]
    assert "environment" not in package and package["permissions"] == {"contents": "read"}
    assert not any("configure-aws-credentials" in s.get("uses", "") for s in package["steps"])
    chain = [("push", spec["github"]["release_environment"])]
    chain += [(f"deploy-{e['name']}", e["name"]) for e in spec["environments"]]
    approved = {f"deploy-{e['name']}" for e in spec["environments"] if e["approval"]}
    previous = "package"
    for job_id, environment in chain:
        job = jobs[job_id]
        # each also needs `package`, whose release-sha256 output it checks the zip against
        needs = [previous] if previous == "package" else [previous, "package"]
        assert (job["needs"], job["environment"]) == (needs, environment)
        reviewers = {"actions": "read"} if job_id in approved else {}
        assert job["permissions"] == {"id-token": "write", **reviewers}
        fetch, check = job["steps"][:2]
        assert fetch["with"] == {"name": "release", "path": "dist"}
        assert check["env"] == {
            "ZIP": "dist/release.zip",
            "ZIP_SHA256": "${{ needs.package.outputs.release-sha256 }}",
            "FOLDER": "release",
        }
        fetched = [
            s["with"]["name"] for s in job["steps"] if "download-artifact" in s.get("uses", "")
        ]
        copies = job_id == "push" or any(
            "publish-marketplace" in s.get("run", "") for s in job["steps"]
        )
        assert fetched == ["release", "release-images"] if copies else ["release"], job_id
        previous = job_id
    assert package["outputs"] == {
        "release-sha256": "${{ steps.release.outputs.release-sha256 }}",
        "images-sha256": "${{ steps.images.outputs.images-sha256 }}",
    }
    assert list(jobs)[-len(chain) :] == [job_id for job_id, _ in chain]
    assert workflow["concurrency"] == {
        "group": "pipelinegen-release",
        "cancel-in-progress": False,
        "queue": "max",
    }


def test_a_deploy_job_runs_on_its_environments_runner_with_a_session_as_long_as_its_wait(
    tmp_path: Path,
) -> None:
    """`environments[].runner` is the deploy job's `runs-on` (actionlint accepts it once the
    label is in .github/actionlint.yaml); each role is assumed for as long as the job waits
    (pipelinegen.sessions), and the Marketplace role allows that long."""
    text = spec_texts()["example-github-delivery"].replace(
        "    namespace: platform\n", "    namespace: platform\n    runner: acme-vpc-runner\n", 1
    )
    files = compile_text(text)
    workflow = YAML(typ="safe").load(files[naming.RELEASE_WORKFLOW])
    jobs = workflow["jobs"]
    deploys = [job for name, job in jobs.items() if name.startswith("deploy-")]
    assert deploys[0]["runs-on"] == "acme-vpc-runner"
    assert {job["runs-on"] for job in deploys[1:]} == {"ubuntu-24.04"}
    durations = {
        step["with"]["role-session-name"]: step["with"]["role-duration-seconds"]
        for job in jobs.values()
        for step in job.get("steps", [])
        if "role-duration-seconds" in step.get("with", {})
    }
    assert durations == {
        "pipelinegen-push": 3600,
        "pipelinegen-deploy": 3600,
        "pipelinegen-marketplace": 5 * 3600 + 1800,
    }
    assert json.loads(files[naming.CDK_SPEC])["sessions"] == {"deploy": 3600, "marketplace": 19800}
    folder = tmp_path / ".github"
    (folder / "workflows").mkdir(parents=True)
    (folder / "actionlint.yaml").write_text("self-hosted-runner:\n  labels: [acme-vpc-runner]\n")
    release = folder / "workflows" / "pipelinegen-release.yml"
    release.write_text(files[naming.RELEASE_WORKFLOW])
    config = folder / "actionlint.yaml"
    result = run(tool("actionlint"), "-config-file", str(config), "-shellcheck",
                 tool("shellcheck"), str(release), cwd=tmp_path)  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "")

"""The generated CDK app, synthesized for real for every example and test spec: zero findings
from cfn-lint and checkov, and the properties the design promises, read from the templates."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipelinegen import naming
from tests.conftest import ROOT
from tests.render.conftest import delivery, spec_texts
from tests.render.test_workflow_linters import tool

SPECS = list(spec_texts())
# The specs that compile to a pipeline (`delivery: aws`), as written or flipped.
PIPELINE_SPECS = [name for name, text in spec_texts().items() if delivery(text) == "aws"]


def templates(synthesized: dict[str, Path]) -> list[Path]:
    return sorted(p for out in synthesized.values() for p in out.glob("*.template.json"))


def load(out: Path, stack: str) -> dict[str, Any]:
    [path] = out.glob(f"*-{stack}.template.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        documents = [properties.get("PolicyDocument"), properties.get("KeyPolicy")]
        documents += [p.get("PolicyDocument") for p in properties.get("Policies", [])]
        documents.append(properties.get("AssumeRolePolicyDocument"))
        for document in documents:
            if document:
                found.extend(document["Statement"])
    return found


def test_cfn_lint_finds_nothing(synthesized: dict[str, Path]) -> None:
    result = subprocess.run(
        [tool("cfn-lint"), "--include-checks", "I", "--", *map(str, templates(synthesized))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_checkov_finds_nothing_and_every_skip_has_a_reason(
    synthesized: dict[str, Path],
) -> None:
    parent = next(iter(synthesized.values())).parent
    result = subprocess.run(
        [
            tool("checkov"),
            "--framework",
            "cloudformation",
            "--directory",
            str(parent),
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], json.dumps([(c["check_id"], c["resource"]) for c in failed])
    assert sum(r["summary"]["passed"] for r in reports) > 100
    for template in templates(synthesized):
        for resource in json.loads(template.read_text())["Resources"].values():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) > 20, skip


@pytest.mark.parametrize("name", SPECS)
def test_no_wildcard_actions(synthesized: dict[str, Path], name: str) -> None:
    for template in synthesized[name].glob("*.template.json"):
        for statement in statements(json.loads(template.read_text())):
            if statement["Effect"] != "Allow":
                continue  # a Deny on s3:* (TLS only) is as broad as it should be
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement


def test_upload_role_trusts_only_the_release_tags_and_puts_only_the_key(
    synthesized: dict[str, Path],
) -> None:
    handoff = load(synthesized["example-monorepo"], "handoff")
    [role] = resources(handoff, "AWS::IAM::Role")
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    claim = "token.actions.githubusercontent.com:"
    workflow = f"orbit-labs/orbit/{naming.RELEASE_WORKFLOW}@refs/tags/"
    assert trust["Condition"] == {
        "StringEquals": {
            f"{claim}aud": "sts.amazonaws.com",
            f"{claim}repository": "orbit-labs/orbit",
            f"{claim}environment": "release",
            f"{claim}sub": "repo:orbit-labs@1234567/orbit@89012345:environment:release",
            f"{claim}repository_id": "89012345",
        },
        "StringLike": {
            f"{claim}ref": ["refs/tags/release-*", "refs/tags/v*"],
            f"{claim}job_workflow_ref": [f"{workflow}release-*", f"{workflow}v*"],
        },
        "StringNotLike": {f"{claim}ref": "refs/tags/*/*"},
    }
    [policy] = resources(handoff, "AWS::IAM::Policy")
    [put] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert put["Action"] == "s3:PutObject"
    assert "releases/orbit.zip" in json.dumps(put["Resource"])
    [provider] = resources(handoff, "AWS::IAM::OIDCProvider")
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


def test_release_bucket_is_locked_down_and_tells_eventbridge(
    synthesized: dict[str, Path],
) -> None:
    handoff = load(synthesized["example-full"], "handoff")
    bucket = next(
        b
        for b in resources(handoff, "AWS::S3::Bucket")
        if b["Properties"].get("BucketName") == "acme-platform-releases"
    )
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "LoggingConfiguration" in properties
    assert bucket["DeletionPolicy"] == "Retain"
    assert not resources(handoff, "AWS::Lambda::Function")


def test_pipeline_shape(synthesized: dict[str, Path]) -> None:
    template = load(synthesized["example-full"], "pipeline")
    [pipeline] = resources(template, "AWS::CodePipeline::Pipeline")
    properties = pipeline["Properties"]
    assert properties["PipelineType"] == "V2"
    assert properties["RestartExecutionOnUpdate"] is True
    stages = [stage["Name"] for stage in properties["Stages"]]
    assert stages == [
        "Source",
        "UpdatePipeline",
        "Release",
        "Deploy-dev",
        "Deploy-staging",
        "Deploy-prod",
        "Marketplace",
    ]
    source = properties["Stages"][0]["Actions"][0]["Configuration"]
    assert source["PollForSourceChanges"] is False
    assert source["S3ObjectKey"] == "releases/acme-platform.zip"
    prod = properties["Stages"][5]["Actions"]
    assert [a["ActionTypeId"]["Category"] for a in prod] == ["Approval", "Build"]
    [rule] = resources(template, "AWS::Events::Rule")
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["acme-platform-releases"]},
            "object": {"key": ["releases/acme-platform.zip"]},
        },
    }


@pytest.mark.parametrize("name", PIPELINE_SPECS)
def test_codebuild_actions_per_release(synthesized: dict[str, Path], name: str) -> None:
    """2 (synth with self-mutation, push) + one per environment + one for Marketplace."""
    spec = json.loads((synthesized[name].parent / "deploy/cdk/pipeline.json").read_text())
    template = load(synthesized[name], "pipeline")
    [pipeline] = resources(template, "AWS::CodePipeline::Pipeline")
    builds = [
        a
        for s in pipeline["Properties"]["Stages"]
        for a in s["Actions"]
        if a["ActionTypeId"]["Provider"] == "CodeBuild"
    ]
    expected = 2 + len(spec["environments"]) + (1 if spec["marketplace"] else 0)
    assert len(builds) == expected
    for project in resources(template, "AWS::CodeBuild::Project"):
        assert project["Properties"]["Environment"]["PrivilegedMode"] is False


@pytest.mark.parametrize(
    "name", [n for n in PIPELINE_SPECS if n.startswith("example-") and "flipped" not in n]
)
def test_pipeline_checks_the_spec_it_was_synthesized_from(
    synthesized: dict[str, Path], name: str
) -> None:
    spec_sha = hashlib.sha256(
        (ROOT / "examples" / name.removeprefix("example-") / "pipeline.yaml").read_bytes()
    ).hexdigest()
    template = load(synthesized[name], "pipeline")
    variables = [
        v
        for p in resources(template, "AWS::CodeBuild::Project")
        for v in p["Properties"]["Environment"].get("EnvironmentVariables", [])
    ]
    assert {"Name": "EXPECTED_SPEC_SHA256", "Type": "PLAINTEXT", "Value": spec_sha} in variables


def test_target_stacks_scope_the_deploy_role(synthesized: dict[str, Path]) -> None:
    target = load(synthesized["example-full"], "target-prod")
    [role] = resources(target, "AWS::IAM::Role")
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    [condition] = trust["Condition"]["StringEquals"].values()
    assert ":iam::111111111111:role/acme-platform-deploy-prod-project" in json.dumps(condition)
    [entry] = resources(target, "AWS::EKS::AccessEntry")
    # No EKS access policy: Kubernetes RBAC (deploy/cdk/kubernetes/prod.yaml) binds the group.
    assert "AccessPolicies" not in entry["Properties"]
    assert entry["Properties"]["KubernetesGroups"] == ["pipelinegen:acme-platform:prod"]
    assert entry["Properties"]["ClusterName"] == "acme-prod"


def test_an_environment_network_puts_its_deploy_project_in_the_vpc(
    synthesized: dict[str, Path],
) -> None:
    """`environments[].network`: the deploy project's VpcConfig, an HTTPS-only security group
    when none is given, and the EC2 permissions CodeBuild needs, limited to the subnets."""
    pipeline = load(synthesized["example-full"], "pipeline")
    projects = {
        next(v["Value"] for v in p["Properties"]["Environment"]["EnvironmentVariables"]
             if v["Name"] == "ENVIRONMENT"): p
        for p in resources(pipeline, "AWS::CodeBuild::Project")
        if any(v["Name"] == "ENVIRONMENT"
               for v in p["Properties"]["Environment"].get("EnvironmentVariables", []))
    }  # fmt: skip
    dev = projects["dev"]["Properties"]["VpcConfig"]
    assert dev["VpcId"] == "vpc-0a1b2c3d4e5f60718"
    assert dev["Subnets"] == ["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"]
    [group] = resources(pipeline, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]
    [egress] = group["Properties"]["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)
    assert dev["SecurityGroupIds"] == [{"Fn::GetAtt": [next(
        k for k, r in pipeline["Resources"].items() if r["Type"] == "AWS::EC2::SecurityGroup"
    ), "GroupId"]}]  # fmt: skip
    staging = projects["staging"]["Properties"]["VpcConfig"]
    assert staging["SecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert "VpcConfig" not in projects["prod"]["Properties"]
    permission = next(
        s for s in statements(pipeline) if s["Action"] == "ec2:CreateNetworkInterfacePermission"
    )
    subnets = permission["Condition"]["StringEquals"]["ec2:Subnet"]
    assert len(subnets) == 2 and all("subnet/subnet-0" in json.dumps(s) for s in subnets)
    assert permission["Condition"]["StringEquals"]["ec2:AuthorizedService"] == (
        "codebuild.amazonaws.com"
    )
    variables = {
        v["Name"]: v["Value"]
        for v in projects["staging"]["Properties"]["Environment"]["EnvironmentVariables"]
    }
    assert variables["DEPLOY_NETWORK"] == "vpc-1a2b3c4d"
    assert variables["FORCE_CONFLICTS"] == "true"


def test_tests_synthesize_with_the_versions_the_app_pins() -> None:
    """The suite's aws-cdk-lib and everything it pulls in (constraints.txt) are the versions the
    generated requirements pin, each with a hash."""
    from pipelinegen.render.cdk.versions import APP_REQUIREMENTS

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pins = {
        normal(name): version
        for name, version in (
            line.split("==")
            for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line
        )
    }
    assert {normal(name): pins[normal(name)] for name, _, _ in APP_REQUIREMENTS} == {
        normal(name): version for name, version, _ in APP_REQUIREMENTS
    }
    text = (ROOT / "examples/full/deploy/cdk/requirements.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == len(APP_REQUIREMENTS)
    assert all(re.fullmatch(r"\S+==\S+ --hash=sha256:[0-9a-f]{64}", line) for line in lines)


def buildspecs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each CodeBuild project's buildspec, by the project's logical id."""
    return {
        logical_id: json.loads(resource["Properties"]["Source"]["BuildSpec"])
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CodeBuild::Project"
    }


def commands(buildspec: dict[str, Any]) -> list[str]:
    return [c for phase in buildspec["phases"].values() for c in phase["commands"]]


@pytest.mark.parametrize("name", PIPELINE_SPECS)
def test_no_build_runs_apt_or_an_unpinned_download(synthesized: dict[str, Path], name: str) -> None:
    """Every tool comes from a script that checks a pinned sha256 (install-cdk.sh,
    install-skopeo.sh, install-helm.sh) or a hash-pinned requirements file."""
    for logical_id, buildspec in buildspecs(load(synthesized[name], "pipeline")).items():
        for command in commands(buildspec):
            assert not re.search(r"\b(apt|apt-get|curl|wget)\b", command), (logical_id, command)
            assert "npm install" not in command and "npx" not in command, (logical_id, command)
            if "pip install" in command:
                assert "--require-hashes" in command, (logical_id, command)


def test_only_the_actions_that_copy_images_download_them(synthesized: dict[str, Path]) -> None:
    """The images are an S3 object of their own (one OCI image layout), read by the Images
    source action, which starts nothing (the release zip's upload does); only Push and
    Marketplace take them: a release downloads its images twice, whatever its environments."""
    template = load(synthesized["example-full"], "pipeline")
    [pipeline] = resources(template, "AWS::CodePipeline::Pipeline")
    stages = {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}
    sources = {a["Name"]: a for a in stages["Source"]}
    assert sorted(sources) == ["Images", "Release"]
    spec = json.loads((synthesized["example-full"].parent / "deploy/cdk/pipeline.json").read_text())
    keys = {name: a["Configuration"]["S3ObjectKey"] for name, a in sources.items()}
    assert keys == {"Release": spec["release"]["key"], "Images": spec["release"]["images_key"]}
    assert all(a["Configuration"]["PollForSourceChanges"] is False for a in sources.values())
    readers = [
        action["Name"]
        for actions in stages.values()
        for action in actions
        if {"Name": "Images"} in action.get("InputArtifacts", [])
    ]
    assert readers == ["Push", "Publish"]


def test_the_release_names_the_cdk_cli_the_pipeline_installs(synthesized: dict[str, Path]) -> None:
    """No CLI version is fixed in the deployed pipeline: UpdatePipeline reads it from the
    release's own cdk/pipeline.json, so a release that needs a newer CLI brings it."""
    from pipelinegen.render.cdk.versions import CDK_CLI

    template = load(synthesized["example-full"], "pipeline")
    [update] = [b for i, b in buildspecs(template).items() if i.startswith("UpdatePipeline")]
    assert commands(update)[0] == "bash cdk/scripts/install-cdk.sh"
    assert CDK_CLI["version"] not in json.dumps(template)
    spec = json.loads((synthesized["example-full"].parent / "deploy/cdk/pipeline.json").read_text())
    assert spec["cdk_cli"] == CDK_CLI


def test_tools_are_installed_once_and_passed_on(synthesized: dict[str, Path]) -> None:
    """skopeo, Helm and kubectl are installed by the Push action and reach every later action as
    the Tools artifact; no later action downloads them again."""
    template = load(synthesized["example-full"], "pipeline")
    [pipeline] = resources(template, "AWS::CodePipeline::Pipeline")
    found = {
        action["Name"]: action
        for stage in pipeline["Properties"]["Stages"]
        for action in stage["Actions"]
    }
    assert found["Push"]["OutputArtifacts"] == [{"Name": "Tools"}]
    inputs = {
        name: [a["Name"] for a in action.get("InputArtifacts", [])]
        for name, action in found.items()
    }
    assert inputs["Helm"] == ["Release", "Tools"]
    assert inputs["Publish"] == ["Release", "Tools", "Images"]
    installs = [
        command
        for buildspec in buildspecs(template).values()
        for command in commands(buildspec)
        if "install-" in command
    ]
    assert sorted(c.split("bash ")[-1] for c in installs) == [
        "cdk/scripts/install-cdk.sh",
        "cdk/scripts/install-helm.sh",
        "cdk/scripts/install-kubectl.sh",
        "cdk/scripts/install-python.sh",
        "cdk/scripts/install-skopeo.sh",
    ]


@pytest.mark.parametrize("name", PIPELINE_SPECS)
def test_the_app_packages_are_cached_under_the_hash_of_the_lock(
    synthesized: dict[str, Path], name: str
) -> None:
    """UpdatePipeline keeps the wheelhouse install-python.sh fills in an S3 cache keyed on the
    sha256 of cdk/requirements.txt, in a bucket of its own (the cache grants read and write on
    the whole bucket); no other project has a cache."""
    template = load(synthesized[name], "pipeline")
    projects = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CodeBuild::Project"
    }
    [update] = [i for i in projects if i.startswith("UpdatePipeline")]
    buildspec = json.loads(projects[update]["Source"]["BuildSpec"])
    wheelhouse = {
        v["Name"]: v["Value"] for v in projects[update]["Environment"]["EnvironmentVariables"]
    }["WHEELHOUSE"]
    assert buildspec["cache"] == {
        "key": "cdk-app-wheels-$(codebuild-hash-files cdk/requirements.txt)",
        "paths": [f"{wheelhouse}/**/*"],
    }
    assert "bash cdk/scripts/install-python.sh" in buildspec["phases"]["install"]["commands"]
    location = projects[update]["Cache"]
    assert location["Type"] == "S3"
    [[bucket_ref, prefix]] = [location["Location"]["Fn::Join"][1]]
    assert prefix == "codebuild"
    cache_bucket = bucket_ref["Ref"]
    assert cache_bucket.startswith("BuildCache")
    [pipeline] = resources(template, "AWS::CodePipeline::Pipeline")
    store = pipeline["Properties"]["ArtifactStore"]["Location"]["Ref"]
    assert store != cache_bucket
    bucket = template["Resources"][cache_bucket]["Properties"]
    rules = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert {"ExpirationInDays": 90, "Id": "ExpireCaches", "Status": "Enabled"} in bucket[
        "LifecycleConfiguration"
    ]["Rules"]
    others = [p for i, p in projects.items() if i != update]
    assert all(p.get("Cache", {"Type": "NO_CACHE"})["Type"] == "NO_CACHE" for p in others)
    assert all("cache" not in json.loads(p["Source"]["BuildSpec"]) for p in others)


def test_approvals_notify_a_topic_with_the_release_to_review(synthesized: dict[str, Path]) -> None:
    """examples/full: the stack creates an encrypted topic; examples/monorepo names its own."""
    for name, topic in [
        ("example-full", None),
        ("example-monorepo", "arn:aws:sns:eu-central-1:444444444444:orbit-approvals"),
    ]:
        template = load(synthesized[name], "pipeline")
        [pipeline] = resources(template, "AWS::CodePipeline::Pipeline")
        [approve] = [
            action
            for stage in pipeline["Properties"]["Stages"]
            for action in stage["Actions"]
            if action["ActionTypeId"]["Category"] == "Approval"
        ]
        configuration = approve["Configuration"]
        repository = "acme/platform" if name == "example-full" else "orbit-labs/orbit"
        assert configuration["ExternalEntityLink"] == (
            f"https://github.com/{repository}/releases/tag/#{{Release.RELEASE_VERSION}}"
        )
        if topic is None:
            [created] = resources(template, "AWS::SNS::Topic")
            assert "KmsMasterKeyId" in created["Properties"]
            assert "ApprovalTopicArn" in template["Outputs"]
        else:
            assert configuration["NotificationArn"] == topic
            assert resources(template, "AWS::SNS::Topic") == []
    minimal = load(synthesized["example-minimal"], "pipeline")
    assert resources(minimal, "AWS::SNS::Topic") == []

"""The CloudFormation half of `pipelinegen diff --synth`: resource and IAM changes, and reports.

Most tests use small hand-written templates so every expectation is exact. One uses trimmed
copies of real synth output (tests/diff/fixtures): `pipelinegen synth examples/full/pipeline.yaml`
before, and after adding an environment `qa` in account 444444444444 (cluster acme-qa, namespace
platform); a few resources of the pipeline stack, and the target stacks whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelinegen.diff.cloudformation import (
    CloudFormationDiff,
    IamChange,
    ResourceChange,
    as_json,
    diff_templates,
    render_markdown,
    render_text,
)

FIXTURES = Path(__file__).parent / "fixtures"
PARTITION = {"Ref": "AWS::Partition"}


def template(**resources: Any) -> dict[str, Any]:
    return {"Resources": resources}


def document(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def arn(*parts: Any) -> dict[str, Any]:
    """CDK's way of writing an ARN: `Fn::Join` on "" with the partition as a Ref."""
    return {"Fn::Join": ["", ["arn:", PARTITION, *parts]]}


def role(trust: Any, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": document(trust), **properties},
    }


def policy(*statements: Any, roles: list[Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyDocument": document(*statements), "Roles": roles, "PolicyName": "p"},
    }


CODEBUILD_TRUST = {
    "Action": "sts:AssumeRole",
    "Effect": "Allow",
    "Principal": {"Service": "codebuild.amazonaws.com"},
}


def grants(diff: CloudFormationDiff) -> list[tuple[str, str, str, str, str]]:
    """The IAM changes without stack, effect and source, where a test is about the rest."""
    return [(c.status, c.principal, c.action, c.resource, c.condition) for c in diff.iam]


# --- Resources ------------------------------------------------------------------------------


def test_resources_added_removed_and_modified_with_the_changed_paths() -> None:
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "a", "Tags": []}}
    base = {
        "s": template(
            Bucket=bucket,
            Queue={"Type": "AWS::SQS::Queue"},
            Logs={"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        )
    }
    changed_bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"BucketName": "b", "VersioningConfiguration": {"Status": "Enabled"}},
        "DependsOn": "Logs",
        "DeletionPolicy": "Retain",
    }
    head = {
        "s": template(
            Bucket=changed_bucket,
            Topic={"Type": "AWS::SNS::Topic"},
            Logs={"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        )
    }
    assert diff_templates(base, head).resources == (
        ResourceChange("s", "Queue", "AWS::SQS::Queue", "removed", ()),
        ResourceChange("s", "Topic", "AWS::SNS::Topic", "added", ()),
        ResourceChange(
            "s",
            "Bucket",
            "AWS::S3::Bucket",
            "modified",
            (
                "DeletionPolicy",
                "DependsOn",
                "Properties.BucketName",
                "Properties.Tags",
                "Properties.VersioningConfiguration",
            ),
        ),
    )


def test_a_changed_type_is_a_replacement() -> None:
    base = {"s": template(Thing={"Type": "AWS::SNS::Topic"})}
    head = {"s": template(Thing={"Type": "AWS::SQS::Queue"})}
    assert diff_templates(base, head).resources == (
        ResourceChange("s", "Thing", "AWS::SNS::Topic", "removed"),
        ResourceChange("s", "Thing", "AWS::SQS::Queue", "added"),
    )


def test_cdk_bookkeeping_is_no_change() -> None:
    """Metadata (construct paths, asset hashes), CDKMetadata and the bootstrap-version check."""
    base = {
        "s": {
            "Resources": {
                "Topic": {"Type": "AWS::SNS::Topic", "Metadata": {"aws:cdk:path": "a/Topic"}}
            },
            "Parameters": {"BootstrapVersion": {"Default": "/cdk-bootstrap/hnb659fds/version"}},
        }
    }
    head = {
        "s": {
            "Metadata": {"cfn-lint": {}},
            "Resources": {
                "Topic": {"Type": "AWS::SNS::Topic", "Metadata": {"aws:cdk:path": "b/Topic"}},
                "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2"}},
                "Other": {"Type": "AWS::CDK::Metadata"},
            },
            "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
        }
    }
    diff = diff_templates(base, head)
    assert diff.empty
    assert render_text(diff) == render_markdown(diff) == "No CloudFormation changes."


def test_pipeline_stage_order_matters() -> None:
    """Outside policies, list order is meaning (a pipeline runs its stages in order)."""
    stages = [{"Name": "Source"}, {"Name": "Deploy"}]
    pipeline = {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": stages}}
    reordered = {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": stages[::-1]}}
    diff = diff_templates({"s": template(P=pipeline)}, {"s": template(P=reordered)})
    assert diff.resources[0].properties == ("Properties.Stages",)


# --- IAM ------------------------------------------------------------------------------------


def test_identity_policy_statement_added_names_the_attached_role() -> None:
    named = role(CODEBUILD_TRUST, RoleName="acme-deploy")
    unnamed = role(CODEBUILD_TRUST)
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    assume = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": arn(":iam::444444444444:role/deploy"),
    }
    roles = [{"Ref": "Named"}, {"Ref": "Unnamed"}, "imported-role"]
    base = {"s": template(Named=named, Unnamed=unnamed, Policy=policy(read, roles=roles))}
    head = {"s": template(Named=named, Unnamed=unnamed, Policy=policy(read, assume, roles=roles))}
    resource = "arn:${AWS::Partition}:iam::444444444444:role/deploy"
    assert diff_templates(base, head).iam == tuple(
        IamChange("s", "added", "Allow", principal, "sts:AssumeRole", resource, "", "Policy")
        for principal in ("Unnamed", "acme-deploy", "imported-role")
    )


def test_new_subject_pattern_in_a_web_identity_trust_is_shown_with_its_condition() -> None:
    def upload_role(subjects: list[str]) -> dict[str, Any]:
        trust = {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": {"Ref": "GitHub"}},
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": subjects},
            },
        }
        return role(trust, RoleName="upload")

    tags = "repo:acme/platform:ref:refs/tags/v*"
    main = "repo:acme/platform:ref:refs/heads/main"
    base = {"h": template(Upload=upload_role([tags]))}
    head = {"h": template(Upload=upload_role([tags, main]))}
    diff = diff_templates(base, head)
    aud = '"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}'
    sub = '"token.actions.githubusercontent.com:sub"'
    action = "sts:AssumeRoleWithWebIdentity"
    before = f'{{{aud},"StringLike":{{{sub}:"{tags}"}}}}'
    after = f'{{{aud},"StringLike":{{{sub}:["{main}","{tags}"]}}}}'
    assert grants(diff) == [
        ("removed", "Federated: ${GitHub}", action, "upload", before),
        ("added", "Federated: ${GitHub}", action, "upload", after),
    ]
    assert diff.resources == (
        ResourceChange(
            "h", "Upload", "AWS::IAM::Role", "modified", ("Properties.AssumeRolePolicyDocument",)
        ),
    )


def test_reordering_statements_and_values_is_no_change() -> None:
    first: dict[str, Any] = {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"],
        "Condition": {"StringLike": {"aws:PrincipalTag/team": ["x", "y"]}},
    }
    second = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    swapped = {
        **first,
        "Action": first["Action"][::-1],
        "Resource": first["Resource"][::-1],
        "Condition": {"StringLike": {"aws:PrincipalTag/team": ["y", "x", "y"]}},
    }
    trust = {**CODEBUILD_TRUST, "Principal": {"Service": ["a.amazonaws.com", "b.amazonaws.com"]}}
    trust_swapped = {**trust, "Principal": {"Service": ["b.amazonaws.com", "a.amazonaws.com"]}}
    base = template(
        A=role(trust),
        B=role(trust),
        P={**policy(first, second, roles=[{"Ref": "A"}, {"Ref": "B"}]), "DependsOn": ["A", "B"]},
    )
    head = template(
        A=role(trust_swapped),
        B=role(trust),
        P={**policy(second, swapped, roles=[{"Ref": "B"}, {"Ref": "A"}]), "DependsOn": ["B", "A"]},
    )
    assert diff_templates({"s": base}, {"s": head}).empty


def test_a_new_target_stack_in_a_new_account() -> None:
    """What adding an environment in account 444444444444 does on the target side: a new stack
    whose deploy role trusts the tooling account, narrowed to one role by aws:PrincipalArn."""
    trust = {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": arn(":iam::111111111111:root")},
        "Condition": {
            "StringEquals": {"aws:PrincipalArn": arn(":iam::111111111111:role/acme-deploy-qa")}
        },
    }
    describe = {
        "Action": "eks:DescribeCluster",
        "Effect": "Allow",
        "Resource": arn(":eks:us-east-1:444444444444:cluster/acme-qa"),
    }
    target = template(
        DeployRole=role(trust, RoleName="acme-deploy-qa"),
        DeployRolePolicy=policy(describe, roles=[{"Ref": "DeployRole"}]),
    )
    pipeline = {"acme-pipeline": template(Topic={"Type": "AWS::SNS::Topic"})}
    diff = diff_templates(pipeline, {**pipeline, "acme-target-qa": target})
    assert diff.stacks_added == ("acme-target-qa",)
    assert diff.stacks_removed == ()
    assert [(c.stack, c.logical_id, c.status) for c in diff.resources] == [
        ("acme-target-qa", "DeployRole", "added"),
        ("acme-target-qa", "DeployRolePolicy", "added"),
    ]
    condition = (
        '{"StringEquals":{"aws:PrincipalArn":'
        '"arn:${AWS::Partition}:iam::111111111111:role/acme-deploy-qa"}}'
    )
    assert diff.iam == (
        IamChange(
            "acme-target-qa",
            "added",
            "Allow",
            "AWS: arn:${AWS::Partition}:iam::111111111111:root",
            "sts:AssumeRole",
            "acme-deploy-qa",
            condition,
            "DeployRole",
        ),
        IamChange(
            "acme-target-qa",
            "added",
            "Allow",
            "acme-deploy-qa",
            "eks:DescribeCluster",
            "arn:${AWS::Partition}:eks:us-east-1:444444444444:cluster/acme-qa",
            "",
            "DeployRolePolicy",
        ),
    )


def test_a_removed_stack_removes_its_grants() -> None:
    stack = template(Role=role(CODEBUILD_TRUST))
    diff = diff_templates({"old": stack, "kept": {}}, {"kept": {}})
    assert diff.stacks_removed == ("old",)
    assert diff.resources == (ResourceChange("old", "Role", "AWS::IAM::Role", "removed"),)
    assert grants(diff) == [
        ("removed", "Service: codebuild.amazonaws.com", "sts:AssumeRole", "${Role}", "")
    ]


@pytest.mark.parametrize(
    ("value", "readable"),
    [
        ("*", "*"),
        ({"Ref": "Bucket"}, "${Bucket}"),
        ({"Fn::GetAtt": ["Bucket", "Arn"]}, "${Bucket.Arn}"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "${Bucket.Arn}"),
        ({"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]}, "${Bucket.Arn}/*"),
        (arn(":iam::", {"Ref": "AWS::AccountId"}, ":root"),
         "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/${Key}"}, "arn:${AWS::Partition}:s3:::b/${Key}"),
        ({"Fn::Sub": ["${B}/*-${!Literal}", {"B": {"Ref": "Bucket"}}]}, "${Bucket}/*-${!Literal}"),
        ({"Fn::ImportValue": "shared-key-arn"}, "${Import:shared-key-arn}"),
        ({"Fn::If": ["Prod", "a", "b"]}, '{"Fn::If":["Prod","a","b"]}'),
        ({"Fn::Join": ["", {"Ref": "Parts"}]}, '{"Fn::Join":["",{"Ref":"Parts"}]}'),
        ({"Fn::Sub": 3}, '{"Fn::Sub":3}'),
        ({"Not": "an intrinsic", "Two": "keys"}, '{"Not":"an intrinsic","Two":"keys"}'),
        (7, "7"),
    ],
)  # fmt: skip
def test_intrinsics_are_rendered_readably(value: Any, readable: str) -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": value}
    head = {"s": template(P=policy(statement, roles=["r"]))}
    (change,) = diff_templates({}, head).iam
    assert change.resource == readable


def test_negations_and_unattached_or_incomplete_statements() -> None:
    statements = [
        {"Effect": "Deny", "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::a"]},
        {"Effect": "Allow", "Action": "s3:ListBucket"},
        {"Effect": "Allow", "Resource": "*"},
        "not a statement",
    ]
    managed = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": {"Statement": statements}},
    }
    bucket_policy = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "PolicyDocument": document(
                {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "*"}
            )
        },
    }
    diff = diff_templates({}, {"s": template(M=managed, B=bucket_policy, R=role("odd"))})
    assert grants(diff) == [
        ("added", "(not attached)", "(no action)", "*", ""),
        ("added", "(not attached)", "NOT iam:*", "NOT arn:aws:s3:::a", ""),
        ("added", "(not attached)", "s3:ListBucket", "(no resource)", ""),
        ("added", "NOT AWS: arn:aws:iam::1:root", "*", "${B}", ""),
    ]
    assert diff.iam[1].effect == "Deny"


def test_resource_policies() -> None:
    """Key, repository, bucket and generic (queue) policies: the principal is the statement's;
    a statement without Resource (a repository policy) applies to the resource holding it."""
    use = {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    pull = {
        "Effect": "Allow",
        "Principal": {"AWS": [arn(":iam::2:root"), arn(":iam::3:root")]},
        "Action": "ecr:BatchGetImage",
    }
    send = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]}}},
    }
    head = template(
        Key={"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": document(use)}},
        Repo={
            "Type": "AWS::ECR::Repository",
            "Properties": {"RepositoryName": "acme/api", "RepositoryPolicyText": document(pull)},
        },
        Unnamed={
            "Type": "AWS::ECR::Repository",
            "Properties": {"RepositoryPolicyText": document(pull)},
        },
        QueuePolicy={
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"PolicyDocument": document(send)},
        },
        LogsPolicy={
            "Type": "AWS::Logs::ResourcePolicy",
            "Properties": {"PolicyDocument": json.dumps(document({**send, "Action": "logs:Put"}))},
        },
        Broken={"Type": "AWS::Logs::ResourcePolicy", "Properties": {"PolicyDocument": "{oops"}},
        Bucket={"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}},
    )
    on_rule = '{"ArnEquals":{"aws:SourceArn":"${Rule.Arn}"}}'
    assert grants(diff_templates({}, {"s": head})) == [
        ("added", "*", "kms:Decrypt", "*", ""),
        ("added", "AWS: arn:${AWS::Partition}:iam::2:root", "ecr:BatchGetImage", "${Unnamed}", ""),
        ("added", "AWS: arn:${AWS::Partition}:iam::2:root", "ecr:BatchGetImage", "acme/api", ""),
        ("added", "AWS: arn:${AWS::Partition}:iam::3:root", "ecr:BatchGetImage", "${Unnamed}", ""),
        ("added", "AWS: arn:${AWS::Partition}:iam::3:root", "ecr:BatchGetImage", "acme/api", ""),
        ("added", "Service: events.amazonaws.com", "logs:Put", "${Queue.Arn}", on_rule),
        ("added", "Service: events.amazonaws.com", "sqs:SendMessage", "${Queue.Arn}", on_rule),
    ]


def test_inline_and_managed_policies_of_roles_users_and_groups() -> None:
    """A managed policy the template defines is exploded, attributed to every identity that
    attaches it; one it does not define (AdministratorAccess) is shown as the attachment."""
    admin_name = "iam::aws:policy/AdministratorAccess"
    admin = arn(f":{admin_name}")
    local = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": document({"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}),
            "Users": ["bob"],
        },
    }
    inline = {
        "PolicyName": "inline",
        "PolicyDocument": document({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),
    }
    head = template(
        Role=role(CODEBUILD_TRUST, RoleName="ci", ManagedPolicyArns=[admin, {"Ref": "Local"}]),
        User={
            "Type": "AWS::IAM::User",
            "Properties": {"UserName": "alice", "Policies": [inline, "junk"]},
        },
        Group={"Type": "AWS::IAM::Group", "Properties": {"ManagedPolicyArns": [{"Ref": "Local"}]}},
        Local=local,
        Elsewhere={
            "Type": "AWS::IAM::RolePolicy",
            "Properties": {"RoleName": {"Ref": "Role"}, "PolicyDocument": document()},
        },
        Ref={"Type": "AWS::IAM::Group", "Properties": {"ManagedPolicyArns": [{"Ref": "Topic"}]}},
        Topic={"Type": "AWS::SNS::Topic"},
    )
    assert grants(diff_templates({}, {"s": head})) == [
        ("added", "Service: codebuild.amazonaws.com", "sts:AssumeRole", "ci", ""),
        ("added", "ci", "(attached managed policy)", f"arn:${{AWS::Partition}}:{admin_name}", ""),
        ("added", "ci", "s3:List*", "*", ""),
        ("added", "group/Group", "s3:List*", "*", ""),
        ("added", "group/Ref", "(attached managed policy)", "${Topic}", ""),
        ("added", "user/alice", "sqs:*", "*", ""),
        ("added", "user/bob", "s3:List*", "*", ""),
    ]  # fmt: skip


def test_reordered_iam_attachments_and_inline_policies_are_no_change() -> None:
    def user(policies: list[str], arns: list[str]) -> dict[str, Any]:
        inline = [{"PolicyName": name, "PolicyDocument": document()} for name in policies]
        properties = {"Policies": inline, "ManagedPolicyArns": arns, "Groups": arns}
        return {"Type": "AWS::IAM::User", "Properties": properties}

    base = {"s": template(U=user(["a", "b"], ["x", "y"]))}
    head = {"s": template(U=user(["b", "a"], ["y", "x"]))}
    assert diff_templates(base, head).empty


def test_malformed_policies_compare_as_written() -> None:
    """Templates CloudFormation would reject still diff, without a crash or invented grants."""

    def odd(value: str) -> dict[str, Any]:
        properties = {"PolicyDocument": {"Statement": [value]}, "Other": value}
        user = {"Type": "AWS::IAM::User", "Properties": {"Policies": [value]}}
        key = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": value}}}
        return template(P={"Type": "AWS::IAM::Policy", "Properties": properties}, U=user, K=key)

    diff = diff_templates({"s": odd("a")}, {"s": odd("b")})
    assert [(c.logical_id, c.properties) for c in diff.resources] == [
        ("K", ("Properties.KeyPolicy",)),
        ("P", ("Properties.Other", "Properties.PolicyDocument")),
        ("U", ("Properties.Policies",)),
    ]
    assert diff.iam == ()


def test_real_templates_adding_an_environment_in_a_new_account() -> None:
    base = json.loads((FIXTURES / "full-base.json").read_text(encoding="utf-8"))
    head = json.loads((FIXTURES / "full-add-qa.json").read_text(encoding="utf-8"))
    diff = diff_templates(base, head)
    assert diff.stacks_added == ("acme-platform-target-qa",)
    assert {c.stack for c in diff.resources} == {
        "acme-platform-pipeline",
        "acme-platform-target-qa",
    }
    assert [(c.logical_id, c.properties) for c in diff.resources if c.status == "modified"] == [
        ("PipelineRoleDefaultPolicyC7A05455", ("Properties.PolicyDocument",)),
        ("RepositoryapiEFE666AF", ("Properties.RepositoryPolicyText",)),
    ]
    qa_account = "AWS: arn:${AWS::Partition}:iam::444444444444:root"
    assert {(c.action, c.resource) for c in diff.iam if c.principal == qa_account} == {
        ("ecr:BatchGetImage", "acme-platform/api"),
        ("ecr:GetDownloadUrlForLayer", "acme-platform/api"),
    }
    trust = next(c for c in diff.iam if c.source == "DeployRole885297C3")
    assert (trust.stack, trust.principal, trust.resource, trust.condition) == (
        "acme-platform-target-qa",
        "AWS: arn:${AWS::Partition}:iam::111111111111:root",
        "acme-platform-deploy-qa",
        '{"StringEquals":{"aws:PrincipalArn":'
        '"arn:${AWS::Partition}:iam::111111111111:role/acme-platform-deploy-qa-project"}}',
    )
    assert all(c.status == "added" for c in diff.iam)
    assert diff_templates(head, head).empty


# --- Reports --------------------------------------------------------------------------------

SMALL = CloudFormationDiff(
    resources=(
        ResourceChange("app", "Old", "AWS::SNS::Topic", "removed"),
        ResourceChange("app", "Role", "AWS::IAM::Role", "modified", ("DependsOn", "Properties.A")),
    ),
    iam=(
        IamChange("app", "removed", "Deny", "*", "s3:*", "*", "", "Policy"),
        IamChange(
            "app",
            "added",
            "Allow",
            "Federated: ${GitHub}",
            "sts:AssumeRoleWithWebIdentity",
            "a|b\nc",
            '{"StringLike":{"sub":"repo:a|b:*"}}',
            "Role",
        ),
    ),
    stacks_added=("app",),
    stacks_removed=("gone",),
)


def test_markdown_tables_with_pipes_and_newlines_escaped() -> None:
    assert render_markdown(SMALL) == (
        "**Stacks added:** `app`  \n"
        "**Stacks removed:** `gone`\n"
        "\n"
        "#### Resources\n"
        "\n"
        "| Stack | Logical ID | Type | Change | Changed properties |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| app | `Old` | AWS::SNS::Topic | removed |  |\n"
        "| app | `Role` | AWS::IAM::Role | modified | `DependsOn`, `Properties.A` |\n"
        "\n"
        "#### IAM in `app`\n"
        "\n"
        "| Change | Principal | Action | Resource | Condition |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| removed | `*` | **Deny** `s3:*` | `*` |  |\n"
        "| added | `Federated: ${GitHub}` | `sts:AssumeRoleWithWebIdentity` | `a\\|b`<br>`c` | "
        '`{"StringLike":{"sub":"repo:a\\|b:*"}}` |'
    )


def test_markdown_cells_with_backticks_and_plain_pipes() -> None:
    change = ResourceChange("a|b", "X", "T\nU", "added")
    iam = IamChange("a|b", "added", "Allow", "`odd`", "x``y", "*", "", "X")
    markdown = render_markdown(CloudFormationDiff((change,), (iam,), (), ()))
    assert "| a\\|b | `X` | T<br>U | added |  |" in markdown
    assert "| added | `` `odd` `` | ```x``y``` | `*` |  |" in markdown


def test_markdown_leaves_rows_out_to_fit_a_comment() -> None:
    iam = tuple(
        IamChange("s", "added", "Allow", "role", f"s3:Action{i:03}", "*", "", "P")
        for i in range(100)
    )
    markdown = render_markdown(CloudFormationDiff((), iam, (), ()), max_chars=1_000)
    assert len(markdown) <= 1_000
    kept = markdown.count("| added |")
    assert 0 < kept < 100
    assert markdown.endswith(
        f"*{100 - kept} more rows are left out to fit a comment; run "
        "`pipelinegen diff --synth` locally to see them all.*"
    )
    assert "#### Resources" not in markdown  # an empty table is no table


def test_text_report() -> None:
    assert render_text(SMALL) == (
        "stacks added: app\n"
        "stacks removed: gone\n"
        "app:\n"
        "  resources:\n"
        "    - Old (AWS::SNS::Topic)\n"
        "    ~ Role (AWS::IAM::Role): DependsOn, Properties.A\n"
        "  IAM:\n"
        "    - Deny s3:* on * for *\n"
        "    + Allow sts:AssumeRoleWithWebIdentity on a|b\nc for Federated: ${GitHub}"
        ' when {"StringLike":{"sub":"repo:a|b:*"}}'
    )


def test_text_report_per_stack_shows_only_the_sections_with_changes() -> None:
    topic = ResourceChange("a", "T", "AWS::SNS::Topic", "added")
    diff = CloudFormationDiff((topic,), SMALL.iam[:1], (), ())
    assert render_text(diff) == (
        "a:\n  resources:\n    + T (AWS::SNS::Topic)\napp:\n  IAM:\n    - Deny s3:* on * for *"
    )


def test_markdown_of_a_removed_stack_alone() -> None:
    assert (
        render_markdown(CloudFormationDiff((), (), (), ("gone",))) == "**Stacks removed:** `gone`"
    )
    assert render_markdown(CloudFormationDiff((), (), ("new",), ())) == "**Stacks added:** `new`"


def test_json_shape() -> None:
    document = as_json(SMALL)
    assert json.loads(json.dumps(document)) == document
    assert document["empty"] is False
    assert document["stacks_added"] == ["app"]
    assert document["stacks_removed"] == ["gone"]
    assert document["resources"][1] == {
        "stack": "app",
        "logical_id": "Role",
        "type": "AWS::IAM::Role",
        "status": "modified",
        "properties": ["DependsOn", "Properties.A"],
    }
    assert document["iam"][0] == {
        "stack": "app",
        "status": "removed",
        "effect": "Deny",
        "principal": "*",
        "action": "s3:*",
        "resource": "*",
        "condition": "",
        "source": "Policy",
    }

"""The pipeline stack: a V2 CodePipeline that takes each release from the bucket to production.

Source (the release zip, started by an EventBridge rule on "Object Created" for the fixed key,
and the release's images, the object beside it, which starts nothing) → UpdatePipeline (one
action: synth of the CDK app inside the release with the CDK CLI the release asks for, then
self-mutation: deploys this stack, and the pipeline restarts when it changed) → Release (the
contract check, then every image pushed to ECR in one action, which also installs the pinned
skopeo, Helm and kubectl once for the whole release and passes them on as the Tools artifact) →
one stage per environment (a manual approval where asked, then Helm) → Marketplace (after the
publishing environment). Each CodeBuild action costs build minutes, so a release runs 2 +
environments (+1 for Marketplace) of them.

The images travel only to the actions that read them: Push (and the contract check it runs) and
Marketplace take the Images artifact as a second input (a CodeBuild action takes up to five
input artifacts, "Valid input and output artifacts for each action type", CodePipeline User
Guide; CodeBuild extracts a secondary input at $CODEBUILD_SRC_DIR_<artifact name>, "CodePipeline
integration with CodeBuild and multiple input sources and output artifacts sample", CodeBuild
User Guide). UpdatePipeline and the Helm actions take the release alone. The artifact bucket
keeps each execution's copies for ARTIFACTS_KEPT, then expires them (see docs/data-path.md).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnOutput, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.alarms import release_failed
from stacks.findings import template_findings
from stacks.permissions import marketplace_statements
from stacks.registry import repositories, repository
from stacks.storage import log_bucket, private_bucket

SCRIPTS = "cdk/scripts"  # inside the release zip
TOOLS = "Tools"  # the artifact with the pinned skopeo and Helm, installed once per release
IMAGES = "Images"  # the release's images: one OCI image layout, an S3 object of its own
# Where an action that reads them finds them: CodeBuild extracts a secondary input artifact at
# $CODEBUILD_SRC_DIR_<artifact name>.
USE_IMAGES = f'export IMAGES_DIR="$CODEBUILD_SRC_DIR_{IMAGES}"'
# An execution's artifacts are read by its later actions, the last of them after a manual
# approval, which fails after 7 days without an answer ("Approve or reject an approval action in
# CodePipeline", CodePipeline User Guide); a retry of a failed stage reads them again. 30 days
# covers both with room; every release is kept in the versioned release bucket regardless.
ARTIFACTS_KEPT = Duration.days(30)
# Later actions run the tools from that artifact (CodeBuild unpacks a secondary input at
# $CODEBUILD_SRC_DIR_<artifact name>); a zip may not keep the executable bits, so set them again.
USE_TOOLS = (
    f'export PATH="$CODEBUILD_SRC_DIR_{TOOLS}/bin:$PATH" && '
    f'chmod -R a+x "$CODEBUILD_SRC_DIR_{TOOLS}/bin" "$CODEBUILD_SRC_DIR_{TOOLS}/libexec"'
)
MARKETPLACE_WAIT = Duration.hours(7)
# The CDK app's Python packages, kept between releases in a CodeBuild S3 cache: the key is the
# sha256 of the lock (codebuild-hash-files hashes files of the primary source, the release), so
# a release with a new lock starts a new cache and one with the same lock restores it. A key's
# cache is saved once and never updated ("Amazon S3 caching", CodeBuild User Guide). Not a local
# cache: that one stays on one build host, for that host only, and suits frequent builds
# ("Local caching"); releases are infrequent and land on any host.
# The Node.js LTS every build runs on (the CDK CLI and aws-cdk-lib's jsii need one they
# support: 22 or 24; 20 is end-of-life). CodeBuild's standard:8.0 image offers nodejs 22 and
# 24 in a buildspec's runtime-versions (aws-codebuild-docker-images:
# ubuntu/standard/8.0/runtimes.yml).
NODE_RUNTIME = 24
WHEELHOUSE = "/root/.cache/pipelinegen/wheels"
WHEELS_CACHE = {
    "key": "cdk-app-wheels-$(codebuild-hash-files cdk/requirements.txt)",
    "paths": [f"{WHEELHOUSE}/**/*"],
}
WHEELS_KEPT = Duration.days(90)  # then the cache is dropped; the next release saves it anew

KEY_USE = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
KEY_ADMINISTRATION = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]


class PipelineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, spec: dict[str, Any], **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        template_findings(self)
        self.spec = spec
        self.key = kms.Key(
            self,
            "PipelineKey",
            description=f"{spec['project']}: pipeline artifacts and build logs",
            enable_key_rotation=True,
            policy=self._key_policy(),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.access_logs = log_bucket(self, "AccessLogs")
        artifacts = private_bucket(self, "Artifacts", logs=self.access_logs, key=self.key)
        artifacts.add_lifecycle_rule(
            id="ExpireExecutionArtifacts",
            expiration=ARTIFACTS_KEPT,
            noncurrent_version_expiration=Duration.days(1),
            abort_incomplete_multipart_upload_after=Duration.days(1),
        )
        self.repositories = {
            image["name"]: repository(self, image, spec) for image in repositories(spec)
        }
        self.approval_topic = self._approval_topic()
        pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=spec["project"],
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=codepipeline.ExecutionMode.QUEUED,
            restart_execution_on_update=True,  # what makes self-mutation take effect
            artifact_bucket=artifacts,
            cross_account_keys=False,  # other accounts are reached by assuming roles
        )
        release = codepipeline.Artifact("Release")
        images = codepipeline.Artifact(IMAGES)
        tools = codepipeline.Artifact(TOOLS)
        pipeline.add_stage(stage_name="Source", actions=self._sources(pipeline, release, images))
        pipeline.add_stage(stage_name="UpdatePipeline", actions=[self._update_pipeline(release)])
        self.push = self._push(release, images, tools)
        pipeline.add_stage(stage_name="Release", actions=[self.push])
        for environment in spec["environments"]:
            pipeline.add_stage(
                stage_name=f"Deploy-{environment['name']}",
                actions=self._deploy(environment, release, tools),
            )
            if environment["marketplace"]:
                pipeline.add_stage(
                    stage_name="Marketplace", actions=[self._publish(release, images, tools)]
                )
        self._depend_on_policy_only(pipeline)
        if spec["alarms"] is not None:
            release_failed(self, pipeline, key=self.key, topic_arn=spec["alarms"]["topic_arn"])

    # --- stages -------------------------------------------------------------------------------

    def _sources(
        self,
        pipeline: codepipeline.Pipeline,
        release_artifact: codepipeline.Artifact,
        images: codepipeline.Artifact,
    ) -> list[Any]:
        """The fixed keys of the versioned release bucket: the release zip, whose upload starts
        the pipeline through an explicit EventBridge rule (S3 sends "Object Created" to
        EventBridge itself, so no CloudTrail trail is needed), and its images, uploaded first,
        which start nothing: an execution takes the newest version of each, and the contract
        check refuses images that are not the ones the release's manifest names."""
        release = self.spec["release"]
        bucket = s3.Bucket.from_bucket_name(self, "ReleaseBucket", release["bucket"])
        events.Rule(
            self,
            "OnRelease",
            description="Start the pipeline when a release zip is uploaded.",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [release["bucket"]]},
                    "object": {"key": [release["key"]]},
                },
            ),
            targets=[targets.CodePipeline(pipeline)],
        )
        return [
            actions.S3SourceAction(
                action_name=name,
                bucket=bucket,
                bucket_key=key,
                output=output,
                trigger=actions.S3Trigger.NONE,
            )
            for name, key, output in (
                ("Release", release["key"], release_artifact),
                ("Images", release["images_key"], images),
            )
        ]

    def _update_pipeline(self, release: codepipeline.Artifact) -> Any:
        """Synthesize the release's CDK app and deploy this stack from the assembly (as CDK
        Pipelines' SelfMutate does; nothing changes when the pipeline did not), in one action:
        the CLI and the app's Python packages are installed once. The CLI is the version the
        release's own app names (install-cdk.sh reads cdk/pipeline.json), never one fixed
        when this pipeline was deployed, so a release that needs a newer CLI brings it. The
        app's Python packages come from a wheelhouse in the build cache (install-python.sh):
        from the package index only for the first release with a new lock."""
        stack = self.stack_name
        project = self._project(
            "UpdatePipeline",
            install=[f"bash {SCRIPTS}/install-cdk.sh", f"bash {SCRIPTS}/install-python.sh"],
            build=[
                "(cd cdk && cdk synth --output ../cdk.out --quiet)",
                f"(cd cdk.out && cdk -a . deploy {stack} --require-approval=never --verbose)",
            ],
            environment={"WHEELHOUSE": WHEELHOUSE},
            cache=(self._cache_bucket(), WHEELS_CACHE),
        )
        project.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[f"arn:{self.partition}:iam::{self.account}:role/*"],
                conditions={
                    "ForAnyValue:StringEquals": {
                        "iam:ResourceTag/aws-cdk:bootstrap-role": [
                            "image-publishing",
                            "file-publishing",
                            "deploy",
                        ]
                    }
                },
            )
        )
        project.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[
                    self.format_arn(
                        service="cloudformation", resource="stack", resource_name=f"{stack}/*"
                    )
                ],
            )
        )
        return actions.CodeBuildAction(action_name="SynthAndUpdate", project=project, input=release)

    def _push(
        self,
        release: codepipeline.Artifact,
        images: codepipeline.Artifact,
        tools: codepipeline.Artifact,
    ) -> Any:
        """Check the release and its images against the contract, then push every image in one
        action. It installs the pinned skopeo and Helm (each checked against its sha256, no
        apt) once for the release and hands them on as the Tools artifact."""
        helm = self.spec["helm"]
        project = self._project(
            "Push",
            install=[
                f"bash {SCRIPTS}/install-skopeo.sh",
                f"mkdir -p tools/bin && INSTALL_DIR=tools/bin bash {SCRIPTS}/install-helm.sh",
                f"INSTALL_DIR=tools/bin bash {SCRIPTS}/install-kubectl.sh",
            ],
            build=[
                f'{USE_IMAGES} && export PATH="$PWD/tools/bin:$PATH" && '
                f"bash {SCRIPTS}/verify-and-push.sh",
                f'export RELEASE_VERSION="$(python3 {SCRIPTS}/release.py get version)"',
            ],
            exported=["RELEASE_VERSION"],
            environment={
                "EXPECTED_SPEC_SHA256": self.spec["spec_sha256"],
                "ECR_REGISTRY": self._registry(),
                "ECR_PREFIX": self.spec["project"],
                "HELM_VERSION": helm["version"],
                "HELM_SHA256": helm["sha256"],
                "KUBECTL_PACKAGE_VERSION": self.spec["kubectl"]["package_version"],
                "KUBECTL_PACKAGE_SHA256": self.spec["kubectl"]["package_sha256"],
                "KUBECTL_SHA256": self.spec["kubectl"]["sha256"],
            },
            artifacts={"base-directory": "tools", "files": ["**/*"]},
        )
        for found in self.repositories.values():
            found.grant_push(project)
            found.grant(project, "ecr:DescribeImages")
        return actions.CodeBuildAction(
            action_name="Push",
            project=project,
            input=release,
            extra_inputs=[images],
            outputs=[tools],
            variables_namespace="Release",
        )

    def _deploy(
        self,
        environment: dict[str, Any],
        release: codepipeline.Artifact,
        tools: codepipeline.Artifact,
    ) -> list[Any]:
        name = environment["name"]
        stage: list[Any] = []
        if environment["approval"]:
            stage.append(self._approve(name))
        path = self.spec["enterprise"]["role_path"]
        deploy_role = (
            f"arn:{self.partition}:iam::{environment['account']}:role{path}"
            f"{environment['deploy_role_name']}"
        )
        helm = self.spec["helm"]
        network = environment["network"]
        project = self._project(
            f"Deploy-{name}",
            role_name=environment["project_role_name"],
            install=[USE_TOOLS],
            build=[
                f'export PATH="$CODEBUILD_SRC_DIR_{TOOLS}/bin:$PATH" && bash {SCRIPTS}/deploy.sh'
            ],
            environment={
                "ENVIRONMENT": name,
                "DEPLOY_NETWORK": network["vpc"] if network else "public",
                "FORCE_CONFLICTS": "true" if environment["force_conflicts"] else "false",
                "CLUSTER": environment["cluster"],
                "CLUSTER_REGION": environment["region"],
                "NAMESPACE": environment["namespace"],
                "DEPLOY_ROLE_ARN": deploy_role,
                "HELM_RELEASE": helm["release"],
                "VALUES_FILES": " ".join(environment["values"]),
                "ECR_REGISTRY": self._registry(),
                "ECR_PREFIX": self.spec["project"],
            },
        )
        project.add_to_role_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[deploy_role])
        )
        if network:
            self._in_vpc(project, name, network)
        helm_action = actions.CodeBuildAction(
            action_name="Helm",
            project=project,
            input=release,
            extra_inputs=[tools],
            run_order=2,
        )
        stage.append(helm_action)
        return stage

    def _approve(self, environment: str) -> Any:
        """A manual approval; with `approvals` in the spec it notifies the SNS topic, with the
        release's tag on GitHub as the link to review (the Push action exports the version)."""
        version = self.push.variable("RELEASE_VERSION")
        approvals = self.spec["approvals"]
        return actions.ManualApprovalAction(
            action_name="Approve",
            run_order=1,
            notification_topic=self.approval_topic,
            external_entity_link=f"{approvals['review_url']}{version}" if approvals else None,
            additional_information=f"Deploy release {version} to {environment}?",
        )

    def _approval_topic(self) -> sns.ITopic | None:
        """The topic the spec names, or one this stack creates (encrypted with the pipeline's
        key, whose policy lets IAM grant its use: the pipeline role publishes)."""
        approvals = self.spec["approvals"]
        if approvals is None:
            return None
        if approvals["topic_arn"]:
            return sns.Topic.from_topic_arn(self, "ApprovalTopic", approvals["topic_arn"])
        topic = sns.Topic(
            self,
            "ApprovalTopic",
            display_name=f"{self.spec['project']}: releases waiting for approval",
            master_key=self.key,
            enforce_ssl=True,
        )
        CfnOutput(
            self,
            "ApprovalTopicArn",
            value=topic.topic_arn,
            description="Subscribe approvers to this topic (e.g. by email).",
        )
        return topic

    def _publish(
        self,
        release: codepipeline.Artifact,
        images: codepipeline.Artifact,
        tools: codepipeline.Artifact,
    ) -> Any:
        marketplace = self.spec["marketplace"]
        project = self._project(
            "Marketplace",
            install=[USE_TOOLS],
            build=[
                f'{USE_IMAGES} && export PATH="$CODEBUILD_SRC_DIR_{TOOLS}/bin:$PATH" && '
                f"bash {SCRIPTS}/publish-marketplace.sh"
            ],
            environment={
                "PRODUCT_ID": marketplace["product_id"],
                "SELLER_PREFIX": marketplace["seller_prefix"],
                "DELIVERY_OPTION_TITLE": marketplace["delivery_option_title"],
                "COMPATIBLE_SERVICES": ",".join(marketplace["compatible_services"]),
                "DESCRIPTION": marketplace.get("description") or "",
                "USAGE_INSTRUCTIONS_FILE": marketplace["usage_instructions_file"],
                "MARKETPLACE_TIMEOUT": str(int(MARKETPLACE_WAIT.to_seconds())),
                "DELIVERY_OPTIONS": ",".join(marketplace["delivery_options"]),
            },
            # The change set scans the images, which takes minutes to hours.
            timeout=MARKETPLACE_WAIT.plus(Duration.minutes(30)),
        )
        for statement in marketplace_statements(self, marketplace):
            project.add_to_role_policy(statement)
        return actions.CodeBuildAction(
            action_name="Publish", project=project, input=release, extra_inputs=[tools, images]
        )

    # --- building blocks ----------------------------------------------------------------------

    def _in_vpc(
        self, project: codebuild.PipelineProject, name: str, network: dict[str, Any]
    ) -> None:
        """Run the deploy project in the environment's VPC (`environments[].network`), for a
        cluster whose endpoint is private or limited to some CIDRs.

        CodeBuild creates a network interface in one of the subnets for each build, with the
        project's role, so the role needs the EC2 permissions of "Allow CodeBuild access to AWS
        services required to create a VPC network interface" (CodeBuild User Guide): the
        describe calls (read-only, no resource-level permissions), and the create, delete and
        `CreateNetworkInterfacePermission` calls limited to the network's subnets and security
        groups. They live in a policy of their own that the project depends on: CodeBuild
        checks them when the project is created, and the role's default policy cannot come
        first (it names the project's report groups). Without security groups in the spec, the
        project gets one that allows outbound HTTPS only (STS, EKS, ECR and S3 are all 443)."""
        groups = list(network["security_groups"]) or [self._deploy_security_group(name, network)]
        subnets = [
            self.format_arn(service="ec2", resource="subnet", resource_name=subnet)
            for subnet in network["subnets"]
        ]
        interfaces = self.format_arn(service="ec2", resource="network-interface", resource_name="*")
        security_groups = [
            self.format_arn(service="ec2", resource="security-group", resource_name=group)
            for group in groups
        ]
        policy = iam.Policy(
            self,
            f"Deploy-{name}Network",
            roles=[project.role] if project.role else [],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeVpcs",
                    ],
                    resources=["*"],  # EC2's describe calls take no resource ARNs
                ),
                iam.PolicyStatement(
                    actions=["ec2:CreateNetworkInterface"],
                    resources=[interfaces, *subnets, *security_groups],
                ),
                iam.PolicyStatement(
                    actions=["ec2:DeleteNetworkInterface"],
                    resources=[interfaces],
                    conditions={"StringEquals": {"ec2:Vpc": self._vpc_arn(network)}},
                ),
                iam.PolicyStatement(
                    actions=["ec2:CreateNetworkInterfacePermission"],
                    resources=[interfaces],
                    conditions={
                        "StringEquals": {
                            "ec2:Subnet": subnets,
                            "ec2:AuthorizedService": "codebuild.amazonaws.com",
                        }
                    },
                ),
            ],
        )
        cfn_project = project.node.default_child
        assert isinstance(cfn_project, codebuild.CfnProject)
        cfn_project.vpc_config = codebuild.CfnProject.VpcConfigProperty(
            vpc_id=network["vpc"], subnets=network["subnets"], security_group_ids=groups
        )
        cfn_policy = policy.node.default_child
        assert isinstance(cfn_policy, CfnResource)
        cfn_project.add_dependency(cfn_policy)

    def _deploy_security_group(self, name: str, network: dict[str, Any]) -> str:
        """A security group for the deploy project: no inbound rule, outbound HTTPS only."""
        group = ec2.CfnSecurityGroup(
            self,
            f"Deploy-{name}SecurityGroup",
            group_description=f"{self.spec['project']} {name} deploy: outbound HTTPS only",
            vpc_id=network["vpc"],
            security_group_egress=[
                ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_ip="0.0.0.0/0",
                    description="HTTPS to the cluster endpoint and to STS, EKS, ECR and S3",
                )
            ],
        )
        return group.attr_group_id

    def _vpc_arn(self, network: dict[str, Any]) -> str:
        return self.format_arn(service="ec2", resource="vpc", resource_name=network["vpc"])

    def _cache_bucket(self) -> s3.Bucket:
        """The build cache's own bucket, hardened as the artifact bucket is: CodeBuild's S3
        cache grants the project read and write on the whole bucket, which must not reach the
        release artifacts later actions run. Caches expire; a release after that refills."""
        bucket = private_bucket(self, "BuildCache", logs=self.access_logs, key=self.key)
        bucket.add_lifecycle_rule(id="ExpireCaches", expiration=WHEELS_KEPT)
        return bucket

    def _depend_on_policy_only(self, pipeline: codepipeline.Pipeline) -> None:
        """CDK makes the pipeline depend on its role and the role's policy; the role dependency
        is implied by the RoleArn reference already (cfn-lint W3005), the policy's is needed."""
        policy = pipeline.role.node.find_child("DefaultPolicy").node.default_child
        cfn_pipeline = pipeline.node.default_child
        assert isinstance(policy, CfnResource) and isinstance(cfn_pipeline, CfnResource)
        cfn_pipeline.add_override("DependsOn", [self.get_logical_id(policy)])

    def _project(
        self,
        name: str,
        *,
        install: list[str],
        build: list[str],
        environment: dict[str, str] | None = None,
        artifacts: dict[str, Any] | None = None,
        exported: list[str] | None = None,
        role_name: str | None = None,
        timeout: Duration | None = None,
        cache: tuple[s3.IBucket, dict[str, Any]] | None = None,
    ) -> codebuild.PipelineProject:
        """A CodeBuild project on the standard image, unprivileged, logging to an encrypted,
        retained log group; with `cache` (bucket, the buildspec's cache section), an S3 cache."""
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        spec: dict[str, Any] = {
            "version": "0.2",
            "env": {
                "shell": "bash",
                "variables": dict(self.spec["aws_retries"]),  # AWS_RETRY_MODE, AWS_MAX_ATTEMPTS
                **({"exported-variables": exported} if exported else {}),
            },
            "phases": {
                "install": {"runtime-versions": {"nodejs": NODE_RUNTIME}, "commands": install},
                "build": {"commands": build},
            },
        }
        if artifacts:
            spec["artifacts"] = artifacts
        if cache:
            spec["cache"] = cache[1]
        role = None
        if role_name:  # a role a target account trusts by name
            role = iam.Role(
                self,
                f"{name}Role",
                role_name=role_name,
                assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            )
        return codebuild.PipelineProject(
            self,
            name,
            role=role,
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_8_0,  # Ubuntu 24.04: skopeo 1.13
                compute_type=codebuild.ComputeType.SMALL,
                privileged=False,
            ),
            environment_variables={
                key: codebuild.BuildEnvironmentVariable(value=value)
                for key, value in (environment or {}).items()
            },
            build_spec=codebuild.BuildSpec.from_object(spec),
            encryption_key=self.key,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)
            ),
            timeout=timeout or Duration.minutes(60),
            cache=codebuild.Cache.bucket(cache[0], prefix="codebuild") if cache else None,
        )

    def _registry(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.{self.url_suffix}"

    def _key_policy(self) -> iam.PolicyDocument:
        """The account administers the key and lets IAM policies grant its use (CDK's grants
        do, to the pipeline and build roles); CloudWatch Logs may encrypt this account's log
        groups with it. Every action is named: no `kms:*`."""
        account = iam.AccountRootPrincipal()
        log_groups = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersTheKey",
                    actions=KEY_ADMINISTRATION,
                    principals=[account],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="IamPoliciesMayGrantUse",
                    actions=KEY_USE,
                    principals=[account],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="LogsEncryptBuildLogs",
                    actions=KEY_USE,
                    principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                    resources=["*"],
                    conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
                ),
            ]
        )

"""Telling the team that a release failed: every failed execution of the pipeline publishes to
an SNS topic, through an EventBridge rule on CodePipeline's "CodePipeline Pipeline Execution
State Change" event with state FAILED (AWS CodePipeline User Guide, "Monitoring CodePipeline
events")."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns


def release_failed(
    stack: Stack, pipeline: codepipeline.Pipeline, *, key: kms.Key, topic_arn: str | None
) -> sns.ITopic:
    """The rule and, unless `topic_arn` names the team's topic, an encrypted topic of its own
    (output `ReleaseFailedTopicArn`). EventBridge publishes to an encrypted topic only when the
    key lets it (Amazon EventBridge User Guide, "Amazon SNS permissions"): `key`'s policy does,
    for this account's rules."""
    if topic_arn:
        topic = sns.Topic.from_topic_arn(stack, "ReleaseFailedTopic", topic_arn)
    else:
        topic = sns.Topic(
            stack,
            "ReleaseFailedTopic",
            display_name=f"{pipeline.pipeline_name}: failed releases",
            master_key=key,
            enforce_ssl=True,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublishesFailedReleases",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        CfnOutput(
            stack,
            "ReleaseFailedTopicArn",
            value=topic.topic_arn,
            description="Subscribe the team to this topic: each failed release publishes here.",
        )
    events.Rule(
        stack,
        "OnReleaseFailed",
        description="Tell the team when a release fails.",
        event_pattern=events.EventPattern(
            source=["aws.codepipeline"],
            detail_type=["CodePipeline Pipeline Execution State Change"],
            detail={"pipeline": [pipeline.pipeline_name], "state": ["FAILED"]},
        ),
        targets=[targets.SnsTopic(topic)],
    )
    return topic

"""Our own additions to the CDK app pipelinegen generates (pipelinegen never writes this file).

app.py calls extend(stacks, spec) once every stack exists: `stacks` maps each stack's name to
its Stack, `spec` is pipeline.json. See docs/extending.md in pipelinegen.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch


def extend(stacks: dict[str, Stack], spec: dict[str, Any]) -> None:
    """An alarm when releases start failing, beside the pipeline."""
    pipeline = stacks[spec["stacks"]["pipeline"]]
    cloudwatch.Alarm(
        pipeline,
        "FailedReleases",
        alarm_description="A release of acme-platform failed in the last hour.",
        metric=cloudwatch.Metric(
            namespace="AWS/CodePipeline",
            metric_name="FailedPipelineExecutions",
            dimensions_map={"PipelineName": spec["project"]},
            period=Duration.hours(1),
            statistic="Sum",
        ),
        threshold=1,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )

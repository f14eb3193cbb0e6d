#!/usr/bin/env python3
"""The CD half: the AWS CDK app that takes each release from the S3 handoff to EKS.

It reads everything it needs from pipeline.json (written by `pipelinegen compile` from the same
spec as the GitHub workflows) and depends on aws-cdk-lib and constructs only, so it can be read,
reviewed, and even maintained without pipelinegen. Stacks, in deployment order:

  <project>-handoff          tooling account: release bucket, GitHub OIDC, upload role
  <project>-target-<env>     each environment's account: deploy role, EKS access entry
  <project>-pipeline         tooling account: the self-updating CodePipeline
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk

from stacks.handoff import HandoffStack
from stacks.pipeline import PipelineStack
from stacks.target import TargetStack

HERE = Path(__file__).resolve().parent
SPEC = json.loads((HERE / "pipeline.json").read_text(encoding="utf-8"))
# The feature flags in cdk.json, applied also when the app runs without the CDK CLI
# (`pipelinegen synth`, or `python app.py` with CDK_OUTDIR set).
FLAGS = json.loads((HERE / "cdk.json").read_text(encoding="utf-8"))["context"]


def main() -> None:
    app = cdk.App(context=FLAGS)
    tooling = cdk.Environment(account=SPEC["account"], region=SPEC["region"])
    stacks = SPEC["stacks"]
    HandoffStack(app, stacks["handoff"], spec=SPEC, env=tooling)
    for environment in SPEC["environments"]:
        TargetStack(
            app,
            environment["stack"],
            spec=SPEC,
            environment=environment,
            env=cdk.Environment(account=environment["account"], region=environment["region"]),
        )
    PipelineStack(app, stacks["pipeline"], spec=SPEC, env=tooling)
    app.synth()


if __name__ == "__main__":
    main()

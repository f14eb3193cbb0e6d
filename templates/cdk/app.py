#!/usr/bin/env python3
"""The CD half: the AWS CDK app that takes each release from the S3 handoff to EKS.

It reads everything it needs from pipeline.json (written by `pipelinegen compile` from the same
spec as the GitHub workflows) and depends on aws-cdk-lib and constructs only, so it can be read,
reviewed, and even maintained without pipelinegen. Stacks, in deployment order, with
`delivery: aws` (pipeline.json's "delivery"):

  <project>-handoff          tooling account: release bucket, GitHub OIDC, upload role
  <project>-target-<env>     each environment's account: deploy role, EKS access entry
  <project>-pipeline         tooling account: the self-updating CodePipeline, ECR repositories

and with `delivery: github` (the release workflow pushes, deploys and publishes):

  <project>-registry         tooling account: ECR repositories, GitHub OIDC, push role,
                             Marketplace role
  <project>-target-<env>     each environment's account: deploy role trusted by GitHub OIDC
                             for the GitHub environment <env>, EKS access entry

The team's own code: when `extend.py` sits beside this file (pipelinegen never writes, deletes
or runs it), the app imports it and calls `extend(stacks, spec)` once every stack exists, with
`stacks` mapping each stack's construct id to its Stack and `spec` this pipeline.json, so the
team can add constructs, policies, alarms or aspects in plain CDK. The organisation's settings
(stacks/enterprise.py: permissions boundary, tags, role path, KMS key) apply after it, to the
team's resources too.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from stacks import enterprise
from stacks.handoff import HandoffStack
from stacks.pipeline import PipelineStack
from stacks.registry import RegistryStack
from stacks.target import TargetStack

HERE = Path(__file__).resolve().parent
SPEC = json.loads((HERE / "pipeline.json").read_text(encoding="utf-8"))
# The feature flags in cdk.json, applied also when the app runs without the CDK CLI
# (`pipelinegen synth`, or `python app.py` with CDK_OUTDIR set).
FLAGS = json.loads((HERE / "cdk.json").read_text(encoding="utf-8"))["context"]


EXTEND = HERE / "extend.py"  # the team's, never generated


def main() -> None:
    app = cdk.App(context=FLAGS)
    tooling = cdk.Environment(account=SPEC["account"], region=SPEC["region"])
    stacks = SPEC["stacks"]
    if SPEC["delivery"] == "github":
        first = RegistryStack(app, stacks["registry"], spec=SPEC, env=tooling)
        targets(app, providers={SPEC["account"]: first})
    else:
        HandoffStack(app, stacks["handoff"], spec=SPEC, env=tooling)
        targets(app, providers={})
        PipelineStack(app, stacks["pipeline"], spec=SPEC, env=tooling)
    every = {stack.node.id: stack for stack in app.node.children if isinstance(stack, cdk.Stack)}
    if EXTEND.is_file():
        extend(every, SPEC)
    enterprise.apply(every, SPEC["enterprise"])
    app.synth()


def extend(stacks: dict[str, cdk.Stack], spec: dict[str, Any]) -> None:
    """Run the team's `extend(stacks, spec)` from extend.py."""
    found = importlib.util.spec_from_file_location("extend", EXTEND)
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    module.extend(stacks, spec)


def targets(app: cdk.App, *, providers: dict[str, cdk.Stack]) -> None:
    """One target stack per environment. With `delivery: github` each account needs its GitHub
    OIDC provider once (one per URL): `providers` maps an account to the stack that creates it
    (the registry stack for the tooling account); the first target stack of any other account
    creates it, and the stacks that use it deploy after that one."""
    github = SPEC["delivery"] == "github"
    for environment in SPEC["environments"]:
        account = environment["account"]
        create = github and account not in providers
        stack = TargetStack(
            app,
            environment["stack"],
            spec=SPEC,
            environment=environment,
            create_provider=create,
            env=cdk.Environment(account=account, region=environment["region"]),
        )
        if create:
            providers[account] = stack
        elif github:
            stack.add_stack_dependency(providers[account])


if __name__ == "__main__":
    main()

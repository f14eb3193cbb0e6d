"""Cost per release: the CodeBuild actions a release runs, next to CDK Pipelines' for the same app.

pipelinegen's pipeline runs synth with self-mutation (1), push (1), one Helm action per
environment, and one Marketplace action when an environment publishes: 2 + E (+1).

CDK Pipelines, for the same images and environments (the issue's count): one synth, one
self-mutate, one publishing action per asset (each image is a Docker image asset) and two
CloudFormation actions (prepare and execute a change set) per stack, where the stacks are one per
environment (the environment's target stack, in a stage per environment). Assumed: the handoff
stack (bucket, OIDC provider) is deployed outside the pipeline, as pipelinegen's is; the pipeline
stack is deployed by the self-mutation; stack templates and file assets are not counted. The
change-set actions bill no build minutes, but CDK Pipelines deploys no Helm chart: with a
CodeBuild step per environment to run Helm, its CodeBuild actions are 2 + I + E.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import TIMES, Bar, Section, table


@dataclass(frozen=True)
class Shape:
    """What the count depends on, read from a compiled deploy/cdk/pipeline.json."""

    label: str
    images: int
    environments: int
    marketplace: bool

    @classmethod
    def read(cls, label: str, pipeline_json: Path) -> Shape:
        spec: dict[str, Any] = json.loads(pipeline_json.read_text(encoding="utf-8"))
        publishes = any(environment["marketplace"] for environment in spec["environments"])
        return cls(
            label=label,
            images=len(spec["images"]),
            environments=len(spec["environments"]),
            marketplace=bool(spec.get("marketplace")) and publishes,
        )

    @property
    def ours(self) -> int:
        return 2 + self.environments + int(self.marketplace)

    @property
    def cdk_pipelines(self) -> int:
        return 1 + 1 + self.images + 2 * self.environments

    @property
    def cdk_pipelines_codebuild(self) -> int:
        return 1 + 1 + self.images + self.environments


def rows(shapes: list[Shape]) -> list[str]:
    """The table, arithmetic shown."""
    headers = (
        "spec",
        "images (I)",
        "environments (E)",
        "Marketplace",
        "pipelinegen: CodeBuild actions, 2 + E (+1)",
        f"CDK Pipelines: actions, 1 + 1 + I + 2{TIMES}E",
        "CDK Pipelines: CodeBuild with Helm, 1 + 1 + I + E",
    )
    return table(headers, [_row(shape) for shape in shapes])


def _row(shape: Shape) -> list[str]:
    i, e = shape.images, shape.environments
    market = " + 1" if shape.marketplace else ""
    return [
        shape.label,
        str(i),
        str(e),
        "yes" if shape.marketplace else "no",
        f"2 + {e}{market} = **{shape.ours}**",
        f"1 + 1 + {i} + 2{TIMES}{e} = **{shape.cdk_pipelines}**",
        f"1 + 1 + {i} + {e} = {shape.cdk_pipelines_codebuild}",
    ]


def counted_codebuild_actions(template: Path) -> int:
    """CodeBuild actions in a synthesized pipeline stack's CodePipeline."""
    document: dict[str, Any] = json.loads(template.read_text(encoding="utf-8"))
    return sum(
        action["ActionTypeId"]["Provider"] == "CodeBuild"
        for resource in document["Resources"].values()
        if resource["Type"] == "AWS::CodePipeline::Pipeline"
        for stage in resource["Properties"]["Stages"]
        for action in stage["Actions"]
    )


def section(shapes: list[Shape], synthesized: Path | None) -> Section:
    """Bar 6: the table, and the formula checked against a synthesized pipeline (examples/full)."""
    full = next(shape for shape in shapes if shape.label == "full")
    counted = _counted(synthesized)
    result = Section("6. Cost per release")
    result.lines = [
        "CodeBuild actions per release, read from each compiled deploy/cdk/pipeline.json. "
        "pipelinegen: synth with self-mutation, and push (2), one Helm action per environment, one "
        "Marketplace action when an environment publishes. CDK Pipelines, for the same images "
        "and environments: one synth, one self-mutate, one publishing action per asset (each "
        "image is a Docker image asset) and two CloudFormation actions (prepare and execute a "
        "change set) per stack. Assumed stacks: one per environment (its target stack, in a "
        "stage per environment); the handoff stack (bucket, OIDC provider) is deployed outside "
        "the pipeline, as pipelinegen's is, and the pipeline stack by the self-mutation; stack "
        "templates and file assets are not counted. The change-set actions bill no build "
        "minutes, but CDK Pipelines runs no Helm: the last column adds the CodeBuild step per "
        "environment it would need for that, counting CodeBuild actions only.",
        "",
        *rows(shapes),
        "",
        f"Check: the pipeline stack `pipelinegen synth` produced for examples/full has {counted} "
        f"CodeBuild actions; the formula gives {full.ours}.",
    ]
    measured = f"full: {full.ours} (synthesized: {counted}) vs CDK Pipelines {full.cdk_pipelines}"
    what = "cost per release shown with arithmetic; formula = synthesized pipeline"
    result.bars = [Bar(6, what, measured, None if counted is None else counted == full.ours)]
    return result


def _counted(assembly: Path | None) -> int | None:
    templates = sorted(assembly.glob("*-pipeline.template.json")) if assembly else []
    return counted_codebuild_actions(templates[0]) if templates else None

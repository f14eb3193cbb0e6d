"""The synthesized CloudFormation templates, read as the rehearsal needs them: the pipeline's
stages in order, each CodeBuild action's buildspec and environment (as CloudFormation would
resolve them), the EventBridge rule that starts it, and the resources it expects to exist.

Nothing here is a second copy of the pipeline: every command and variable comes from the
templates `cdk synth` wrote. Not pipelinegen.graph.flow: that derives the intended pipeline
from the spec, and the rehearsal must check what the synthesized templates actually hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class TemplateError(ValueError):
    """The templates do not hold what a generated pipeline holds."""


@dataclass(frozen=True)
class Project:
    logical_id: str
    buildspec: dict[str, Any]
    environment: dict[str, str]

    def commands(self, phase: str) -> list[str]:
        return list(self.buildspec.get("phases", {}).get(phase, {}).get("commands", []))


@dataclass(frozen=True)
class Action:
    name: str
    provider: str  # S3, CodeBuild, Manual
    run_order: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    project: Project | None
    configuration: dict[str, Any]


@dataclass(frozen=True)
class Stage:
    name: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Pipeline:
    """The pipeline stack as deployed: account, region, stages, trigger, repositories."""

    stack: str
    account: str
    region: str
    template: dict[str, Any]
    stages: tuple[Stage, ...]
    event_pattern: dict[str, Any]
    repositories: tuple[str, ...]


@dataclass(frozen=True)
class Assembly:
    """A cloud assembly (cdk.out): every stack's template and environment."""

    path: Path
    templates: dict[str, dict[str, Any]]
    environments: dict[str, tuple[str, str]]  # stack -> (account, region)

    @classmethod
    def read(cls, path: Path) -> Assembly:
        manifest = json.loads((path / "manifest.json").read_text())
        templates, environments = {}, {}
        for name, artifact in manifest["artifacts"].items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template_file = artifact["properties"]["templateFile"]
            templates[name] = json.loads((path / template_file).read_text())
            account, region = artifact["environment"].removeprefix("aws://").split("/")
            environments[name] = (account, region)
        return cls(path, templates, environments)

    def pipeline(self) -> Pipeline:
        for stack, template in self.templates.items():
            if _of_type(template, "AWS::CodePipeline::Pipeline"):
                account, region = self.environments[stack]
                return _pipeline(stack, account, region, template)
        raise TemplateError(f"no stack in {self.path} holds an AWS::CodePipeline::Pipeline")

    def resources(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, properties) of every resource of a type, in every stack."""
        return [
            (stack, logical_id, resource.get("Properties", {}))
            for stack, template in self.templates.items()
            for logical_id, resource in template.get("Resources", {}).items()
            if resource["Type"] == kind
        ]

    def resolve(self, stack: str, value: Any) -> Any:
        account, region = self.environments[stack]
        return resolve(value, account=account, region=region)


def _of_type(template: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, resource)
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == kind
    ]


def resolve(value: Any, *, account: str, region: str) -> Any:
    """A template value with the intrinsic functions the generated stacks use resolved (Ref to
    pseudo parameters, Fn::Join); a Ref to a resource stays its logical id."""
    pseudo = {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    if isinstance(value, list):
        return [resolve(item, account=account, region=region) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return pseudo.get(value["Ref"], value["Ref"])
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(p, account=account, region=region)) for p in parts)
    if len(value) == 1 and next(iter(value)).startswith("Fn::"):
        raise TemplateError(f"cannot resolve {json.dumps(value)[:200]}")
    return {key: resolve(item, account=account, region=region) for key, item in value.items()}


def _pipeline(stack: str, account: str, region: str, template: dict[str, Any]) -> Pipeline:
    resources = template["Resources"]
    (_, pipeline), *_ = _of_type(template, "AWS::CodePipeline::Pipeline")
    stages = []
    for stage in pipeline["Properties"]["Stages"]:
        actions = []
        for action in stage["Actions"]:
            configuration = resolve(action.get("Configuration", {}), account=account, region=region)
            project = None
            if action["ActionTypeId"]["Provider"] == "CodeBuild":
                logical_id = configuration["ProjectName"]
                properties = resources[logical_id]["Properties"]
                variables = properties["Environment"].get("EnvironmentVariables", [])
                project = Project(
                    logical_id=logical_id,
                    buildspec=json.loads(properties["Source"]["BuildSpec"]),
                    environment={
                        v["Name"]: str(resolve(v["Value"], account=account, region=region))
                        for v in variables
                    },
                )
            actions.append(
                Action(
                    name=action["Name"],
                    provider=action["ActionTypeId"]["Provider"],
                    run_order=int(action.get("RunOrder", 1)),
                    inputs=tuple(a["Name"] for a in action.get("InputArtifacts", [])),
                    outputs=tuple(a["Name"] for a in action.get("OutputArtifacts", [])),
                    project=project,
                    configuration=configuration,
                )
            )
        stages.append(Stage(stage["Name"], tuple(sorted(actions, key=lambda a: a.run_order))))
    rules = [
        resolve(rule["Properties"]["EventPattern"], account=account, region=region)
        for _, rule in _of_type(template, "AWS::Events::Rule")
    ]
    if len(rules) != 1:
        raise TemplateError(f"{stack} has {len(rules)} EventBridge rules; the pipeline has one")
    repositories = tuple(
        str(resource["Properties"]["RepositoryName"])
        for _, resource in _of_type(template, "AWS::ECR::Repository")
    )
    return Pipeline(stack, account, region, template, tuple(stages), rules[0], repositories)

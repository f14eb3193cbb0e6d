"""The spec's JSON Schema, generated from the models and tuned for editors.

pydantic writes the structure; this module adds what makes yaml-language-server (VS Code, Neovim,
JetBrains...) pleasant: `markdownDescription` for hovers, per-value descriptions on enums
(regions, presets...), `defaultSnippets` for new list items, and no `null` branches or
auto-generated titles to clutter completion.
"""

from __future__ import annotations

import json
from typing import Any

from pipelinegen.spec.load import EXTENSION_PREFIX
from pipelinegen.spec.models import Spec
from pipelinegen.spec.regions import REGIONS
from pipelinegen.spec.types import PRESETS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_ENUM_DESCRIPTIONS: tuple[dict[str, str], ...] = (
    REGIONS,
    PRESETS,
    {
        "ubuntu-24.04": "GitHub-hosted Ubuntu 24.04, x64.",
        "ubuntu-22.04": "GitHub-hosted Ubuntu 22.04, x64.",
        "ubuntu-24.04-arm": "GitHub-hosted Ubuntu 24.04, arm64.",
        "ubuntu-22.04-arm": "GitHub-hosted Ubuntu 22.04, arm64.",
    },
)

_SNIPPETS: dict[str, list[dict[str, Any]]] = {
    "Image": [
        {
            "label": "image",
            "description": "An image built from a directory of the repository",
            "body": {"name": "$1", "context": "$2", "platforms": ["linux/amd64"]},
        }
    ],
    "CommandCheck": [
        {
            "label": "check (command)",
            "description": "A CI job that runs a command",
            "body": {"name": "$1", "run": "$2"},
        }
    ],
    "PresetCheck": [
        {
            "label": "check (preset)",
            "description": "A built-in security scan",
            "body": {"name": "${1:secrets}", "preset": "${2:gitleaks}"},
        }
    ],
    "Environment": [
        {
            "label": "environment",
            "description": "A deployment target: an EKS cluster and namespace",
            "body": {"name": "$1", "cluster": "$2", "namespace": "$3", "values": ["$4"]},
        }
    ],
}


def generate() -> dict[str, Any]:
    """The editor-ready JSON Schema of spec version 1."""
    schema = Spec.model_json_schema()
    schema["patternProperties"] = {
        f"^{EXTENSION_PREFIX}": {
            "description": "An extension key, ignored by pipelinegen: a place for YAML anchors.",
        }
    }
    _tune(schema)
    for name, snippets in _SNIPPETS.items():
        schema["$defs"][name]["defaultSnippets"] = snippets
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "pipelinegen spec (pipeline.yaml), version 1",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def render() -> str:
    """The schema as the committed file holds it: sorted keys would scramble field order, so
    the order is the models' own; two-space indent and a final newline."""
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def _tune(node: Any) -> None:
    """Walk the schema, adjusting every subschema in place."""
    if isinstance(node, list):
        for item in node:
            _tune(item)
        return
    if not isinstance(node, dict):
        return
    _drop_null_branch(node)
    if "properties" in node:
        for prop in node["properties"].values():
            prop.pop("title", None)
            if prop.get("default", {}) is None or isinstance(prop.get("default"), dict):
                # None means "derived from elsewhere", which the description says; an all-null
                # sub-object is noise; and a null default breaks yaml-language-server's completion
                prop.pop("default")
    if "description" in node:
        node["markdownDescription"] = node["description"]
    _describe_enum(node)
    for value in node.values():
        _tune(value)


def _drop_null_branch(node: dict[str, Any]) -> None:
    """`X | None` fields default to None; an editor should suggest X, never `null`."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return
    rest = [branch for branch in branches if branch != {"type": "null"}]
    del node["anyOf"]
    if len(rest) == 1:
        node.update(rest[0])
    else:
        node["anyOf"] = rest


def _describe_enum(node: dict[str, Any]) -> None:
    values = node.get("enum")
    if not isinstance(values, list):
        return
    for table in _ENUM_DESCRIPTIONS:
        if all(value in table for value in values):
            node["enumDescriptions"] = [table[value] for value in values]
            node["markdownEnumDescriptions"] = [table[value] for value in values]
            return

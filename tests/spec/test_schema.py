"""The committed JSON Schema: current, valid, and in agreement with the models on the examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest

from pipelinegen.spec import schema
from pipelinegen.spec.regions import REGIONS
from pipelinegen.spec.types import PRESETS, Preset
from pipelinegen.spec.yaml import parse
from tests.conftest import EXAMPLES, ROOT, check_golden

SCHEMA_FILE = ROOT / "schemas" / "pipeline.schema.json"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_committed_schema_is_current(regenerate: bool) -> None:
    check_golden(SCHEMA_FILE, schema.render(), regenerate=regenerate)


def test_schema_is_valid_draft_2020_12(committed: dict[str, Any]) -> None:
    assert committed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(committed)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_satisfy_the_schema(example: Path, committed: dict[str, Any]) -> None:
    data = parse((example / "pipeline.yaml").read_text(encoding="utf-8"), "pipeline.yaml").data
    jsonschema.Draft202012Validator(committed).validate(data)


def test_schema_rejects_what_the_models_reject(committed: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(committed)
    spec = parse((ROOT / "examples/minimal/pipeline.yaml").read_text(), "p").data
    for broken in (
        {**spec, "aws": {**spec["aws"], "account": "12345"}},
        {**spec, "aws": {**spec["aws"], "region": "moon-1"}},
        {**spec, "imagez": []},
    ):
        assert not validator.is_valid(broken)
    assert validator.is_valid({**spec, "x-anchors": {"anything": [1]}})


def test_editor_extras(committed: dict[str, Any]) -> None:
    region = committed["$defs"]["Aws"]["properties"]["region"]
    assert region["markdownEnumDescriptions"] == [REGIONS[r] for r in region["enum"]]
    account = committed["$defs"]["Aws"]["properties"]["account"]
    assert account["markdownDescription"] == account["description"]
    for name in ("Image", "CommandCheck", "PresetCheck", "Environment"):
        assert committed["$defs"][name]["defaultSnippets"], name
    target = committed["$defs"]["Image"]["properties"]["target"]
    assert "anyOf" not in target and target["type"] == "string"  # no null branch
    # A null default makes yaml-language-server 1.25 drop completions after that key.
    assert '"default": null' not in SCHEMA_FILE.read_text()


def test_preset_table_matches_the_literal() -> None:
    assert set(get_args(Preset)) == set(PRESETS)


def _texts(node: Any) -> Any:
    """Every (key, value) pair anywhere in the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def test_example_objects_insert_values_the_schema_accepts(committed: dict[str, Any]) -> None:
    """An editor inserts an example object as plain YAML: a string in it that YAML reads as a
    number (`PYTHON_VERSION: 3.12`) would be rejected by the schema it came from."""
    for key, examples in _texts(committed):
        if key != "examples" or not isinstance(examples, list):
            continue
        for example in examples:
            if isinstance(example, dict):
                document = "\n".join(f"{k}: {v}" for k, v in example.items())
                read = parse(document, "example.yaml").data
                assert read == example, f"{example} is read back as {read}"


def test_descriptions_are_punctuated_once(committed: dict[str, Any]) -> None:
    for key, text in _texts(committed):
        if key in ("description", "markdownDescription") and isinstance(text, str):
            assert ".;" not in text and ".." not in text.replace("...", ""), text

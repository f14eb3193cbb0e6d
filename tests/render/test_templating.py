"""The filters through which every value enters a template: whatever the value, the YAML read
back is that value, so no spec string can change a generated file's structure. And the cache of
compiled templates, which can only ever save time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.bccache import bc_magic as BC_MAGIC
from ruamel.yaml import YAML

from pipelinegen.render.templating import environment, render, yaml_block, yaml_scalar

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
INIT_VALUES = {
    "schema": "s.json",
    "name": "app",
    "repository": "acme/app",
    "account": "000000000000",
    "images": [{"name": "app", "context": ".", "dockerfile": "Dockerfile", "mapping": ""}],
    "checks": [],
    "test_command": "make test",
    "chart": "deploy/chart",
    "chart_note": "the umbrella chart",
    "global_values": True,
    "environments": [
        {"name": "prod", "cluster": "your-prod-cluster", "files": [], "approval": True}
    ],
    "pipelinegen": None,
    "other_blocks": [],
}
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def read(document: str) -> Any:
    return YAML(typ="safe", pure=True).load(document)


@SETTINGS
@given(value=TEXT)
def test_scalar_reads_back_as_the_same_string(value: str) -> None:
    assert read(f"key: {yaml_scalar(value)}\nnext: 1\n") == {"key": value, "next": 1}


@SETTINGS
@given(values=st.lists(TEXT, max_size=4))
def test_flow_list_reads_back_as_the_same_strings(values: list[str]) -> None:
    assert read(f"key: {yaml_scalar(values)}\nnext: 1\n") == {"key": values, "next": 1}


@SETTINGS
@given(value=TEXT)
def test_block_reads_back_as_the_same_text(value: str) -> None:
    document = f"job:\n  run: {yaml_block(value, 4)}\n  next: 1\n"
    assert read(document) == {"job": {"run": value, "next": 1}}


def test_plain_where_unambiguous_quoted_where_not() -> None:
    assert yaml_scalar("services/api") == "services/api"
    assert yaml_scalar("Check out") == "Check out"
    assert yaml_scalar("on") == '"on"'
    assert yaml_scalar("3.12") == '"3.12"'
    assert yaml_scalar("a: b") == '"a: b"'
    assert yaml_scalar(["linux/amd64", "yes"]) == '[linux/amd64, "yes"]'
    assert yaml_scalar(15) == "15"


def test_block_keeps_scripts_readable() -> None:
    assert yaml_block("pytest a\npytest b\n", 4) == "|\n    pytest a\n    pytest b"
    assert yaml_block("ruff check .", 4) == "ruff check ."
    assert yaml_block("echo a: b", 4) == "|-\n    echo a: b"


@pytest.mark.parametrize(
    "value",
    [
        "1:30",
        "0x1F",
        ".5",
        "-foo",
        "a #b",
        "foo:",
        "<<",
        "=",
        "~",
        "Yes",
        "2024-01-01",
        "1e3",
        "a: b",
        "[x]",
        "{x}",
        "*a",
        "&a",
        "!tag",
        "%x",
        "@x",
        "`x`",
        "'x'",
        '"x"',
        "x\ty",
        " x",
    ],
)
def test_tricky_scalars_read_back(value: str) -> None:
    assert read(f"key: {yaml_scalar(value)}\n") == {"key": value}
    assert read(f"key: {yaml_block(value, 2)}\n") == {"key": value}


@pytest.fixture
def fresh_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """environment() built anew, with its compiled templates under `tmp_path`."""
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(tmp_path))
    environment.cache_clear()
    yield tmp_path
    environment.cache_clear()


def test_compiled_templates_are_kept_and_reused(
    fresh_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = render("init/pipeline.yaml.j2", **INIT_VALUES)
    assert len(list((fresh_environment / "templates").glob("*/__jinja2_*.cache"))) == 1
    environment.cache_clear()

    def no_compiling(*_: object) -> None:
        raise AssertionError("the template was compiled again")

    monkeypatch.setattr(jinja2.Environment, "_parse", no_compiling)
    assert render("init/pipeline.yaml.j2", **INIT_VALUES) == expected


@pytest.mark.parametrize("damage", [b"", b"garbage", BC_MAGIC + b"garbage"])
def test_a_damaged_compiled_template_is_compiled_again(
    fresh_environment: Path, damage: bytes
) -> None:
    expected = render("init/pipeline.yaml.j2", **INIT_VALUES)
    for compiled in (fresh_environment / "templates").glob("*/__jinja2_*.cache"):
        compiled.write_bytes(damage)
    environment.cache_clear()
    assert render("init/pipeline.yaml.j2", **INIT_VALUES) == expected


def test_a_cache_that_cannot_be_written_only_means_compiling(
    fresh_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fresh_environment / "file").write_text("a file where the cache folder would be\n")
    monkeypatch.setenv("PIPELINEGEN_CACHE_DIR", str(fresh_environment / "file" / "cache"))
    assert render("init/pipeline.yaml.j2", **INIT_VALUES).startswith("#")

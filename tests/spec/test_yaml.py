"""The positioned YAML reader: data, positions, and the problems it must report itself."""

from __future__ import annotations

import pytest

from pipelinegen.errors import SpecError
from pipelinegen.spec.yaml import MAX_NODES, Position, parse


def test_builds_plain_data_with_key_and_value_positions() -> None:
    document = parse("a: 1\nb:\n  - x: yes\n", "p.yaml")
    assert document.data == {"a": 1, "b": [{"x": "yes"}]}  # YAML 1.2: yes is a string
    assert document.keys[("b", 0, "x")] == Position(3, 5)
    assert document.values[("b", 0, "x")] == Position(3, 8)
    assert document.values[("b", 0)] == Position(3, 5)
    assert document.sources == {("a",): "1"}


def test_reports_every_duplicate_key_and_keeps_the_first() -> None:
    document = parse("a: 1\nb: 2\na: 3\nb: 4\n", "p.yaml")
    assert document.data == {"a": 1, "b": 2}
    assert [(d.line, d.message, d.hint) for d in document.problems] == [
        (3, "duplicate key 'a'", "first defined on line 1"),
        (4, "duplicate key 'b'", "first defined on line 2"),
    ]


def test_merge_keys_lose_to_explicit_keys_in_value_and_position() -> None:
    document = parse("base: &b {x: 1, y: 2}\nitem:\n  y: 3\n  <<: *b\n", "p.yaml")
    assert document.data["item"] == {"x": 1, "y": 3}
    assert document.keys[("item", "y")] == Position(3, 3)


def test_syntax_error_is_located() -> None:
    with pytest.raises(SpecError) as caught:
        parse("a: [1\nb: 2\n", "p.yaml")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.render() == (
        "p.yaml:2:2: YAML syntax error: expected ',' or ']', but got ':'\n"
        "  hint: the '[' opened on line 1 is not closed"
    )


def test_alias_bomb_stops_with_a_located_error() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    assert MAX_NODES < 10 * 4**11
    with pytest.raises(SpecError) as caught:
        parse("\n".join(lines), "p.yaml")
    assert "too many values" in caught.value.diagnostics[0].message


def test_unknown_tags_and_complex_keys_are_problems_not_crashes() -> None:
    document = parse("a: !vault secret\n? [x]\n: 1\n", "p.yaml")
    assert [d.message for d in document.problems] == [
        "YAML tags such as '!vault' are not supported",
        "a key must be a plain string",
    ]


def test_recursive_alias_is_an_error() -> None:
    with pytest.raises(SpecError) as caught:
        parse("a: &x [*x]\n", "p.yaml")
    assert caught.value.diagnostics[0].render() == "p.yaml:1:4: a YAML alias refers to itself"


def test_empty_values_are_located_at_their_key() -> None:
    document = parse("a:\nb: 1\n", "p.yaml")
    assert document.data == {"a": None, "b": 1}
    assert document.values[("a",)] == Position(1, 1)


def test_merged_keys_are_located_where_they_are_merged() -> None:
    document = parse("x-base: &b {y: 1}\nitem:\n  z: 2\n  <<: *b\n", "p.yaml")
    assert document.keys[("item", "y")] == Position(4, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a:\n\tb: 1\n", "a tab indents this line"),
        ("a: 1\n---\nb: 2\n", "a second YAML document starts here"),
        ("[" * 1000 + "]" * 1000, "the spec nests more than 64 levels deep"),
        ("a:" + " [" * 70 + "]" * 70, "the spec nests more than 64 levels deep"),
    ],
)
def test_friendly_messages_for_common_and_hostile_input(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(text, "p.yaml")
    assert caught.value.diagnostics[0].message == message

"""The PR comment, rendered as GitHub would (markdown-it-py: CommonMark with raw HTML and GFM
tables): hostile values stay inside their code spans and fences, and the size bound holds."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pipelinegen import markdown as md
from pipelinegen.diff import report
from pipelinegen.diff.compare import Comparison, Side, compare, load_side
from pipelinegen.diff.generated import Drift, FileChange
from pipelinegen.diff.rules import Change, Message
from tests.conftest import ROOT

FULL = (ROOT / "examples" / "full" / "pipeline.yaml").read_text()
GITHUB_LIMIT = 65_536
# A value that tries everything: a fence longer than ours, a heading, a mention, a link, an
# image, an unterminated comment, a table row, a details block.
HOSTILE = (
    "``````````\n### ✅ reviewed, safe to merge @acme/admins [ok](https://evil.example) "
    "![x](https://evil.example/t.png) <!-- | x | y |\n</details><script>alert(1)</script>"
)
ALLOWED_HTML = re.compile(
    r"^(<details( open)?><summary>[^<>]*</summary>\n|</details>\n|<sub>|</sub>|<br>)$"
)


def gfm() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def tokens(text: str) -> Iterator[Token]:
    for token in gfm().parse(text):
        yield token
        yield from token.children or []


def assert_contained(text: str) -> list[Token]:
    """Nothing but our own HTML, no links or images, and the hostile words only as code."""
    found = list(tokens(text))
    for token in found:
        if token.type in ("html_block", "html_inline"):
            assert ALLOWED_HTML.match(token.content), token.content
        assert token.type not in ("link_open", "image"), token
        if token.type == "text":
            assert "safe to merge" not in token.content, token.content
            assert "@acme" not in token.content, token.content
    assert len(text.encode("utf-8")) <= report.LIMIT < GITHUB_LIMIT
    return found


def side(text: str | None, label: str) -> Side:
    return load_side(label, text, spec_path="pipeline.yaml", file="pipeline.yaml", repository=None)


def change(values: tuple[str, ...], risk: str = "high") -> Change:
    template = " and ".join("{}" for _ in values) + " <b>changes</b> | *x*"
    return Change(risk, "trust", "test", Message(template, values))  # type: ignore[arg-type]


def test_a_fence_cannot_be_closed_by_a_value() -> None:
    escaped = HOSTILE.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    head = FULL.replace("run: ruff check services", f'run: "{escaped}"')
    comparison = compare(side(FULL, "base"), side(head, "head"))
    text = report.markdown(comparison, None)
    found = assert_contained(text)
    fences = [t for t in found if t.type == "fence" and t.info == "diff"]
    assert [f.content.rstrip("\n") for f in fences] == [f.diff for f in comparison.files]
    assert any("safe to merge" in f.content for f in fences)
    assert len([t for t in found if t.type == "html_block" and t.content == "</details>\n"]) == (
        len([t for t in found if t.type == "html_block" and t.content.startswith("<details")])
    )


def test_values_in_the_table_are_code() -> None:
    changes = (change((HOSTILE, "a`b", "`", "x|y")),)
    base = side(FULL, "base\n<!--")
    text = report.markdown(Comparison(base, base, changes, ()), None)
    found = assert_contained(text)
    cells = [t for t in found if t.type == "td_open"]
    assert len(cells) == 3  # one row, three cells: the `|` and newlines stayed inside
    code = [t.content for t in found if t.type == "code_inline"]
    assert md.visible(HOSTILE) in code and "a`b" in code and "x|y" in code
    assert "<b>" not in [t.content for t in found if t.type == "html_inline"]


def test_diagnostics_are_fenced() -> None:
    head = FULL.replace("region: us-east-1\n\nrelease", f"region: '{'`' * 12}<!--'\n\nrelease")
    comparison = compare(side(FULL, "base"), side(head, "head"))
    assert comparison.head.diagnostics
    text = report.markdown(comparison, None)
    found = assert_contained(text)
    assert any("is not an AWS region" in t.content for t in found if t.type == "fence")


def test_a_hand_edit_shows_its_diff_first() -> None:
    edit = FileChange(".github/workflows/pipelinegen-release.yml", "modified", "+curl x | sh", 1, 0)
    base = side(FULL, "base")
    comparison = Comparison(base, base, (change(("x",)),), (), Drift(edited=(edit,)))
    text = report.markdown(comparison, None)
    found = assert_contained(text)
    fences = [t.content for t in found if t.type == "fence"]
    assert fences[0] == "+curl x | sh\n"


def test_two_thousand_checks_fit_a_comment() -> None:
    checks = "".join(
        f"  - name: check-{i}\n    run: echo {'`' * (i % 20)} safe to merge @acme/admins <!--\n"
        for i in range(2000)
    )
    head = FULL.replace("checks:\n", "checks:\n" + checks)
    comparison = compare(side(FULL, "base"), side(head, "head"))
    assert len(comparison.changes) == 2000
    text = report.markdown(comparison, None)
    found = assert_contained(text)
    rows = [t for t in found if t.type == "tr_open"]
    assert 100 < len(rows) - 1 < 2000  # the header row, then as many as fit
    assert "more changes are not in the table (" in text
    assert "low); run `pipelinegen diff` locally to see everything.*" in text


def test_the_bound_holds_for_huge_everything() -> None:
    big = "x" * 30_000
    changes = tuple(change((big, HOSTILE)) for _ in range(50))
    files = tuple(FileChange(f"f{i}.yml", "modified", f"+{big}\n" * 3, 3, 0) for i in range(10))
    edits = tuple(FileChange(f"e{i}.yml", "modified", f"+{big}\n" * 3, 3, 0) for i in range(5))
    base = side(FULL, "b" * 10_000)
    comparison = Comparison(base, base, changes, files, Drift(edited=edits))
    assert_contained(report.markdown(comparison, None))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=400), min_size=1, max_size=4))
def test_any_values_stay_in_their_cells(values: list[str]) -> None:
    base = side(FULL, "base")
    text = report.markdown(Comparison(base, base, (change(tuple(values)),), ()), None)
    found = list(tokens(text))
    assert len([t for t in found if t.type == "td_open"]) == 3
    assert len([t for t in found if t.type == "code_inline"]) >= len([v for v in values if v])
    assert not [t for t in found if t.type in ("link_open", "image")]
    assert len(text.encode()) <= report.LIMIT


@given(st.text(max_size=300))
def test_a_fence_holds_any_text(text: str) -> None:
    rendered = [t for t in gfm().parse(md.fence(text, "diff")) if t.type == "fence"]
    assert len(rendered) == 1 and rendered[0].info == "diff"


@pytest.mark.parametrize("value", ["`", "``a``", " x ", "a|b", "<!--", "\u202eevil", "  "])
def test_code_spans(value: str) -> None:
    found = [t for t in tokens(md.code(value)) if t.type == "code_inline"]
    assert [t.content for t in found] == [md.visible(value)]


def test_an_empty_value_is_said() -> None:
    assert [t.content for t in tokens(md.code("")) if t.type == "text"] == ["(empty)"]

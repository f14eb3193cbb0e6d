"""The README's spec reference is the one generated from the models."""

from __future__ import annotations

from pipelinegen.spec import reference
from tests.conftest import ROOT, check_golden

START, END = "<!-- spec-reference:start -->\n", "<!-- spec-reference:end -->\n"


def test_spec_reference_is_current(regenerate: bool) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    before, rest = text.split(START)
    _, after = rest.split(END)
    check_golden(readme, before + START + reference.render() + END + after, regenerate=regenerate)

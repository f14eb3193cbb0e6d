"""The README's generated parts: the spec reference, the diff rules and the pipeline diagram."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipelinegen import naming
from pipelinegen.diff import rules
from pipelinegen.spec import reference
from tests.conftest import ROOT, check_golden


def _diagram() -> str:
    """The full example's fenced diagram, after its file's comment, heading and sentence."""
    text = (ROOT / "examples" / "full" / naming.DIAGRAM).read_text(encoding="utf-8")
    return text.split("\n\n", 2)[2]


SECTIONS: dict[str, Callable[[], str]] = {
    "spec-reference": reference.render,
    "diff-rules": rules.reference,
    "pipeline-diagram": _diagram,
}


@pytest.mark.parametrize("name", SECTIONS)
def test_generated_section_is_current(name: str, regenerate: bool) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->\n"
    before, rest = text.split(start)
    _, after = rest.split(end)
    check_golden(readme, before + start + SECTIONS[name]() + end + after, regenerate=regenerate)

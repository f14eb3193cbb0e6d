"""The documentation: its generated parts are current, the site builds with no broken link or
anchor, and the spec reference is in words, never Python.

Generated parts (between `<!-- NAME:start -->` and `<!-- NAME:end -->`): the spec reference and
the diff rules from the code, the CLI reference from the click commands, and the pipeline
diagram (README.md, docs/index.md) from the full example. `pytest --regenerate
tests/test_docs.py` rewrites them.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelinegen import naming
from pipelinegen.cli import reference as cli_reference
from pipelinegen.diff import rules
from pipelinegen.spec import reference
from tests.conftest import ROOT, check_golden

DOCS = ROOT / "docs"
MKDOCS = ROOT / ".venv-docs" / "bin" / "mkdocs"


def _diagram() -> str:
    """The full example's fenced diagram, after its file's comment, heading and sentence."""
    text = (ROOT / "examples" / "full" / naming.DIAGRAM).read_text(encoding="utf-8")
    return text.split("\n\n", 2)[2]


SECTIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("docs/spec.md", "spec-reference"): reference.render,
    ("docs/diff.md", "diff-rules"): rules.reference,
    ("docs/cli.md", "cli-reference"): cli_reference.render,
    ("README.md", "pipeline-diagram"): _diagram,
    ("docs/index.md", "pipeline-diagram"): _diagram,
}


@pytest.mark.parametrize(("page", "name"), SECTIONS)
def test_generated_section_is_current(page: str, name: str, regenerate: bool) -> None:
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->\n"
    before, rest = text.split(start)
    _, after = rest.split(end)
    generated = SECTIONS[page, name]()
    check_golden(path, before + start + generated + end + after, regenerate=regenerate)


def test_the_spec_reference_is_in_words_not_python() -> None:
    """Every type a reader sees is words or a link: no `typing.`, no class or object repr."""
    text = reference.render()
    python = re.compile(r"typing\.|<class |Annotated\[|StringConstraints|Union\[|object at 0x")
    assert python.findall(text) == []


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """`mkdocs build --strict`: a broken link, a missing anchor or a page left out of the nav
    fails. (Material 9.8 prints a notice of its own end of life in May 2027, on every build:
    NO_MKDOCS_2_WARNING is its documented switch.)"""
    if not MKDOCS.exists():
        pytest.fail("MkDocs is missing: run ./scripts/test, which installs docs/requirements.txt")
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()


_LINK = re.compile(r"\]\((?!https?://|mailto:)([^)\s]+)\)")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in markdown.splitlines():
        if match := re.match(r"^#{1,6} (.+)$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def test_the_readme_links_resolve() -> None:
    """The README is read on GitHub, outside the site: each of its relative links names a file
    that exists, and each anchor a heading of that file."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    broken = []
    for target in _LINK.findall(readme):
        file, _, anchor = target.partition("#")
        path = ROOT / file if file else ROOT / "README.md"
        if not path.exists() or (anchor and anchor not in _anchors(path.read_text())):
            broken.append(target)
    assert broken == []


def test_the_readme_is_a_front_page() -> None:
    """What it is, a picture, the contents, the user's way in first, the two commands, what is
    measured, links."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = [line for line in readme.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Contents",
        "## The pipeline as a picture",
        "## Use it in your repository",
        "## Quickstart",
        "## Measured",
        "## Documentation",
    ]
    for page in sorted(set(DOCS.glob("*.md")) - {DOCS / "index.md"}):
        assert f"(docs/{page.name}" in readme, f"the README links no docs/{page.name}"

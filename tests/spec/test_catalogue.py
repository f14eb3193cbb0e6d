"""The invalid-spec catalogue: the ways a user can get `pipeline.yaml` wrong, and the exact output.

Each case in `tests/invalid/cases/` is a small, realistic spec that breaks one thing (or a few
related things), beside a `.expected` file holding the diagnostics exactly as `validate` prints
them. Keeping the cases as data makes every message and location reviewable in one place, and a
change to any wording shows up as a diff of golden files (`pytest --regenerate` rewrites them).
Paths are checked against `tests/invalid/repo/`, a tiny repository in which the base spec
(`tests/invalid/base.yaml`, which every case starts from) is valid.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import cli
from pipelinegen.errors import Diagnostic, SpecError
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree
from tests.conftest import ROOT, check_golden

INVALID = ROOT / "tests" / "invalid"
CASES_DIR = INVALID / "cases"
FAKE_REPO = INVALID / "repo"
BASE = INVALID / "base.yaml"
MIN_CASES = 40
# CPU seconds of this process (not wall time, which other work on the machine stretches):
# generous; an alias bomb must fail fast, never expand.
SLOW_SECONDS = 5.0

# Cases the package does not handle yet, by stem. Strict xfails: once fixed, the loader test fails
# (no expectation yet) until the case is regenerated, reviewed and its entry removed from here.
KNOWN_CRASHES: dict[str, tuple[type[BaseException], str]] = {}


def _case_paths() -> list[Path]:
    """Discovered, not listed: adding a case is adding a file."""
    return sorted(CASES_DIR.glob("*.yaml"))


def _params(*, through_cli: bool) -> list[pytest.ParameterSet]:
    """Every case as a parameter, known crashes marked: the loader raises the crash itself, the
    CLI turns it into exit 3 with a traceback, which the CLI test's assertions reject."""
    return [
        pytest.param(path, id=path.stem, marks=_marks(path, through_cli)) for path in _case_paths()
    ]


def _marks(path: Path, through_cli: bool) -> list[pytest.MarkDecorator]:
    """Strict xfails for a known crash, so a fix is noticed rather than silently passing."""
    if path.stem not in KNOWN_CRASHES:
        return []
    crash, reason = KNOWN_CRASHES[path.stem]
    return [pytest.mark.xfail(reason=reason, raises=AssertionError if through_cli else crash)]


def _diagnostics(case: Path) -> list[Diagnostic]:
    """What the loader finds in `case`, named by its bare file name as the expectations are."""
    text = case.read_text(encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load(text, file=case.name, repository=WorkingTree(FAKE_REPO))
    return caught.value.diagnostics


def _render(diagnostics: list[Diagnostic]) -> str:
    """The diagnostics as `validate` prints them: each rendering on its own line(s)."""
    return "".join(f"{diagnostic.render()}\n" for diagnostic in diagnostics)


def _summary(count: int, file: str) -> str:
    """The closing line `validate` prints on stderr after the diagnostics."""
    return f"{file}: {count} {'problem' if count == 1 else 'problems'}\n"


def test_the_catalogue_is_large_enough() -> None:
    """A floor, so cases are not silently lost (a bad glob, a moved folder)."""
    working = [path for path in _case_paths() if path.stem not in KNOWN_CRASHES]
    assert len(working) >= MIN_CASES


def test_every_expectation_has_its_case() -> None:
    """A renamed or deleted case must not leave an expectation behind that nothing checks."""
    orphans = [p.name for p in CASES_DIR.glob("*.expected") if not p.with_suffix(".yaml").exists()]
    assert orphans == []


def test_every_case_says_what_it_breaks() -> None:
    """The first line names the mistake, so a reader of a case knows what to look for."""
    unexplained = [p.name for p in _case_paths() if not p.read_text().startswith("# breaks: ")]
    assert unexplained == []


def test_known_crashes_are_cases() -> None:
    """A stale entry would hide nothing and mislead the reader about what still crashes."""
    assert set(KNOWN_CRASHES) <= {path.stem for path in _case_paths()}


def test_the_base_spec_is_valid() -> None:
    """Cases are the base with something broken; if the base broke, every case would lie."""
    load(BASE.read_text(encoding="utf-8"), file=BASE.name, repository=WorkingTree(FAKE_REPO))


@pytest.mark.parametrize("case", _params(through_cli=False))
def test_loader_reports_the_expected_diagnostics(case: Path, regenerate: bool) -> None:
    """The loader rejects the case with exactly the committed diagnostics, and quickly."""
    started = time.process_time()
    actual = _render(_diagnostics(case))
    assert time.process_time() - started < SLOW_SECONDS
    check_golden(case.with_suffix(".expected"), actual, regenerate=regenerate)


@pytest.mark.parametrize("case", _params(through_cli=True))
def test_cli_prints_the_expected_diagnostics(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`validate` checks paths against the spec's folder, so the case runs from a copy of the fake
    repository: exit 1, the same diagnostics plus the summary on stderr, and no traceback."""
    repository = tmp_path / "repo"
    shutil.copytree(FAKE_REPO, repository)
    shutil.copyfile(case, repository / case.name)
    monkeypatch.chdir(repository)  # so the CLI names the file as the expectations do
    result = CliRunner().invoke(cli, ["validate", case.name])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    assert _without_warnings(result.stderr) == expected + _summary(
        len(_diagnostics(case)), case.name
    )
    assert result.stdout == ""


def _without_warnings(stderr: str) -> str:
    """The errors of `validate`'s output: warnings (tested in tests/chart) and their hints go."""
    kept, skipping = [], False
    for line in stderr.splitlines(keepends=True):
        if ": warning: " in line.split("\n", 1)[0]:
            skipping = True
            continue
        if skipping and line.startswith("  hint: "):
            continue
        skipping = False
        kept.append(line)
    return "".join(kept)

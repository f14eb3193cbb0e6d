"""The benchmark suite's regression check (benchmarks/regression.py): its comparison, the
committed figures it compares with, and its quick form run as the test command runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import regression  # noqa: E402
from timing import Timing  # noqa: E402


def _timings(**medians: float) -> dict[str, Timing]:
    return {label: Timing(label, [value]) for label, value in medians.items()}


def test_every_figure_of_both_forms_has_a_committed_ratio() -> None:
    committed = regression.committed_ratios(regression.RESULTS.read_text(encoding="utf-8"))
    for form in (regression.FULL, regression.QUICK):
        for label in (
            f"compile --check {form.images} images",
            f"validate {form.errors} errors",
            f"compile --check {regression.EXAMPLE}",
            f"validate {regression.EXAMPLE}",
        ):
            assert committed[label] > 0, label
    assert committed["import floor"] == 1.0
    assert committed["compile --check 1000 images"] == pytest.approx(87 / 105)


@pytest.mark.parametrize(
    ("committed", "measured", "regressed"),
    [(4.0, 4.9, False), (4.0, 5.1, True), (0.8, 1.07, False), (0.8, 1.09, True)],
)
def test_a_figure_fails_past_its_tolerance_of_the_committed_ratio(
    committed: float, measured: float, regressed: bool
) -> None:
    timings = _timings(**{"import floor": 0.1, "validate 500 errors": 0.1 * measured})
    [verdict] = regression.compare({"validate 500 errors": committed}, timings)
    assert verdict.regressed is regressed
    lines, held = regression.report([verdict])
    assert held is not regressed
    assert lines[0].startswith("REGRESSED" if regressed else "ok")


def test_a_figure_without_a_committed_ratio_is_an_error_not_a_pass() -> None:
    with pytest.raises(KeyError, match="no committed ratio"):
        regression.compare({}, _timings(**{"import floor": 0.1, "validate 7 errors": 0.1}))


def test_the_quick_form_holds_against_the_committed_results() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/regression.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "regression check (quick): passed" in result.stdout

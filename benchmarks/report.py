"""The report's building blocks: bars with verdicts, sections, Markdown tables, number formats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from timing import Timing

TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class Bar:
    """One of the issue's bars: what it asks, what was measured, and whether it holds.

    `met` is None when the bar was not measured in this run (e.g. a scale that --quick skips).
    """

    number: int
    what: str
    measured: str
    met: bool | None

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "not measured"
        return "met" if self.met else "**MISSED**"


@dataclass
class Section:
    """A titled part of the report: its Markdown lines and the bars it decides."""

    title: str
    lines: list[str] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)


def at_most(number: int, what: str, value: float | None, limit: float, unit: str = TIMES) -> Bar:
    """A bar met when `value` ≤ `limit` (None: not measured)."""
    if value is None:
        return Bar(number, what, "—", None)
    return Bar(number, what, f"{value:.2f}{unit}", value <= limit)


def below(number: int, what: str, value: float | None, limit: float, unit: str) -> Bar:
    """A bar met when `value` < `limit` (None: not measured)."""
    if value is None:
        return Bar(number, what, "—", None)
    return Bar(number, what, f"{value:.2f} {unit}", value < limit)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def seconds(value: float) -> str:
    """Milliseconds below ten seconds (where the differences are), else seconds."""
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}{TIMES}"


def timing_row(timing: Timing, reference: Timing | None = None) -> list[str]:
    """label, median, min, max and, with a reference, the ratio of the medians."""
    row = [timing.label, seconds(timing.median), seconds(timing.low), seconds(timing.high)]
    if reference is not None:
        row.append(ratio(timing.median / reference.median))
    return row


TIMING_HEADERS = ("command", "median", "min", "max")

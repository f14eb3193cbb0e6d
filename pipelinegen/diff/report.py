"""A comparison as text for a terminal, Markdown for a pull-request comment, or JSON.

The Markdown is posted where reviewers decide, so nothing in it comes from a value raw: values
are code spans, prose is escaped, file diffs and diagnostics sit in fences longer than any
backtick run inside them, summaries are HTML-escaped (see pipelinegen.markdown). Its size always
stays under LIMIT (UTF-8 bytes, so under GitHub's 65,536 characters however they are counted):
the parts are added most important first, and whatever does not fit is replaced by a note.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from pipelinegen import markdown as md
from pipelinegen.diff.cloudformation import (
    CloudFormationDiff,
    as_json,
    render_markdown,
    render_text,
)
from pipelinegen.diff.compare import Comparison, Side
from pipelinegen.diff.generated import FileChange
from pipelinegen.diff.rules import Change
from pipelinegen.graph import mermaid
from pipelinegen.graph.flow import flow

# GitHub rejects comments over 65,536 characters; the sticky-comment action adds a marker line.
LIMIT = 60_000
VALUE_LIMIT = 300  # characters of one value in a table cell
DIAGNOSTICS_LIMIT = 8_000
ICONS = {"high": "🔴 high", "medium": "🟠 medium", "low": "⚪ low"}
LOCALLY = "run `pipelinegen diff` locally to see everything"


def verdict(comparison: Comparison) -> str:
    """One line that says whether to look closely."""
    invalid = [side.label for side in (comparison.base, comparison.head) if side.diagnostics]
    if invalid:
        return f"the spec is invalid at {' and '.join(invalid)}"
    high = comparison.at_least("high")
    if high:
        noun = "change needs" if len(high) == 1 else "changes need"
        return f"{len(high)} high-risk {noun} a careful review"
    if comparison.changed:
        return f"{len(comparison.changes)} pipeline changes, none high-risk"
    return "no change to the generated pipeline"


# --- text ---------------------------------------------------------------------------------------


def text(comparison: Comparison, cloudformation: CloudFormationDiff | None) -> str:
    lines = [
        f"pipelinegen diff: {comparison.base.label} → {comparison.head.label}",
        f"verdict: {verdict(comparison)}",
    ]
    lines += _diagnostics(comparison.base) + _diagnostics(comparison.head)
    if comparison.changes:
        lines += ["", "changes:"]
        lines += [f"  {c.risk:<6}  {c.topic:<11}  {c.message}" for c in comparison.changes]
    if comparison.drift.edited:
        lines += ["", "committed generated files that are not what the spec compiles to:"]
        lines += [line for change in comparison.drift.edited for line in ("", change.diff)]
    if comparison.files:
        lines += ["", "generated files:"]
        lines += [f"  {f.status:<8}  {f.path} (+{f.added} -{f.removed})" for f in comparison.files]
        for change in comparison.files:
            lines += ["", change.diff]
    if cloudformation is not None:
        lines += ["", "CloudFormation:", render_text(cloudformation)]
    return "\n".join(lines) + "\n"


def _diagnostics(side: Side) -> list[str]:
    if not side.diagnostics:
        return []
    return [f"{side.label} is invalid:"] + [f"  {d.render()}" for d in side.diagnostics]


# --- Markdown -----------------------------------------------------------------------------------


@dataclass
class _Budget:
    """What is left of LIMIT, in UTF-8 bytes."""

    left: int
    parts: list[str] = field(default_factory=list)

    def add(self, part: str, *, keep: int = 0) -> bool:
        """Append `part` if it fits with `keep` bytes to spare."""
        size = len(part.encode("utf-8"))
        if size + keep > self.left:
            return False
        self.parts.append(part)
        self.left -= size
        return True


NOTE_RESERVE = 2_000  # room kept for the notes and the footer, which are always added


def markdown(comparison: Comparison, cloudformation: CloudFormationDiff | None) -> str:
    """A PR comment: verdict, the risk table, the generated files that differ from the
    compile, the pipeline diagram with the change highlighted, CloudFormation, then per-file
    diffs; at most LIMIT bytes."""
    budget = _Budget(LIMIT)
    icon = "⚠️" if comparison.at_least("high") else "✅"
    budget.add(
        f"### {icon} pipelinegen: {_verdict(comparison)}\n\n"
        f"{_code(comparison.base.label)} → {_code(comparison.head.label)}\n\n"
    )
    for side in (comparison.base, comparison.head):
        if side.diagnostics:
            budget.add(_invalid(side))
    notes = _table(budget, comparison.changes)
    _drift(budget, comparison)
    sections = [
        ("pipeline diagram", _diagram(comparison)),
        (
            "CloudFormation and IAM section",
            _cloudformation(cloudformation, budget.left - NOTE_RESERVE)
            if cloudformation is not None
            else "",
        ),
    ]
    for what, section in sections:
        if section and not budget.add(section, keep=NOTE_RESERVE):
            notes.append(f"The {what} does not fit in a comment; {LOCALLY}.")
    _files(budget, comparison.files, notes)
    for note in notes:  # our wording and counts only
        budget.add(f"*{note}*\n\n")
    budget.add("<sub>Generated by `pipelinegen diff`.</sub>\n")
    return "".join(budget.parts)


def _verdict(comparison: Comparison) -> str:
    """The verdict, with revision names (which come from the command line) as code."""
    invalid = [side.label for side in (comparison.base, comparison.head) if side.diagnostics]
    if invalid:
        return "the spec is invalid at " + " and ".join(map(_code, invalid))
    return md.escape(verdict(comparison))


def _code(value: str, *, in_table: bool = False) -> str:
    shown = value if len(value) <= VALUE_LIMIT else value[: VALUE_LIMIT - 1] + "…"
    return md.code(shown, in_table=in_table)


def _invalid(side: Side) -> str:
    lines: list[str] = []
    size = 0
    for diagnostic in side.diagnostics:
        rendered = diagnostic.render()
        size += len(rendered.encode("utf-8")) + 1
        if size > DIAGNOSTICS_LIMIT:
            lines.append(f"… and {len(side.diagnostics) - len(lines)} more")
            break
        lines.append(rendered)
    return f"**{_code(side.label)} is invalid:**\n\n{md.fence(chr(10).join(lines))}\n"


def _cell(change: Change) -> str:
    """The message with its wording escaped and each value a code span."""
    pieces = change.said.template.split("{}")
    cell = md.escape(pieces[0])
    for value, piece in zip(change.said.values, pieces[1:], strict=True):
        cell += _code(value, in_table=True) + md.escape(piece)
    return cell


def _table(budget: _Budget, changes: tuple[Change, ...]) -> list[str]:
    """The risk table, riskiest rows first, as many as fit; returns the notes to add."""
    if not changes:
        return []
    budget.add("| risk | what | change |\n|---|---|---|\n")
    shown = 0
    for change in changes:
        row = f"| {ICONS[change.risk]} | {change.topic} | {_cell(change)} |\n"
        if not budget.add(row, keep=NOTE_RESERVE * 4):
            break
        shown += 1
    budget.add("\n")
    left = changes[shown:]
    if not left:
        return []
    counts = ", ".join(
        f"{sum(1 for c in left if c.risk == risk)} {risk}"
        for risk in ICONS
        if any(c.risk == risk for c in left)
    )
    return [f"{len(left)} more changes are not in the table ({counts}); {LOCALLY}."]


def _details(summary: str, body: str, *, open_: bool = False) -> str:
    return (
        f"<details{' open' if open_ else ''}><summary>{html.escape(summary)}</summary>\n\n"
        f"{body}\n</details>\n\n"
    )


def _file_section(change: FileChange, *, room: int | None = None) -> str:
    """One file's diff, collapsed; with `room`, the diff is cut to about that many bytes."""
    summary = f"{change.path} {change.status} (+{change.added} -{change.removed})"
    diff = change.diff
    if room is not None and len(diff.encode("utf-8")) > room:
        cut = diff.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
        diff = cut.rpartition("\n")[0] + "\n… the rest of this diff does not fit in a comment"
    return _details(summary, md.fence(diff, "diff"), open_=room is not None)


def _drift(budget: _Budget, comparison: Comparison) -> None:
    """Hand edits first, whole or cut, since what runs is what is committed."""
    edited = comparison.drift.edited
    if not edited:
        return
    budget.add(
        "**Committed generated files that are not what the spec compiles to** (what runs is "
        "what is committed; `+` lines are in the commit, not in the compile):\n\n"
    )
    for index, change in enumerate(edited):
        room = (budget.left - NOTE_RESERVE * 4) // (len(edited) - index) - 500
        if room < 200 or not budget.add(_file_section(change, room=room)):
            budget.add(f"*{len(edited) - index} more edited files: {LOCALLY}.*\n\n")
            return


def _diagram(comparison: Comparison) -> str:
    """The head's flow, highlighted against the base's (everything added for a new spec)."""
    head = comparison.head.spec
    if head is None:
        return ""
    after = mermaid.graph(flow(head))
    base = comparison.base.spec
    before = mermaid.graph(flow(base)) if base is not None else mermaid.Graph("", (), ())
    source = md.fence(mermaid.render(after, base=before), "mermaid")
    if not mermaid.changed(after, before):
        return _details("The pipeline (this change does not alter its flow)", source)
    legend = md.escape(mermaid.LEGEND)
    return f"**The pipeline, with this change highlighted**\n\n{source}\n{legend}\n\n"


def _cloudformation(diff: CloudFormationDiff, room: int) -> str:
    return _details("CloudFormation and IAM changes", render_markdown(diff, max_chars=room // 2))


def _files(budget: _Budget, files: tuple[FileChange, ...], notes: list[str]) -> None:
    if not files:
        return
    opening = f"<details><summary>Generated files: {len(files)} changed</summary>\n\n"
    if not budget.add(opening, keep=NOTE_RESERVE):
        notes.append(f"The {len(files)} file diffs do not fit in a comment; {LOCALLY}.")
        return
    kept = 0
    for change in files:
        if not budget.add(_file_section(change), keep=NOTE_RESERVE):
            break
        kept += 1
    budget.add("</details>\n\n")
    if kept < len(files):
        left = len(files) - kept
        notes.append(f"{left} more file diffs are left out to fit a comment; {LOCALLY}.")


# --- JSON ---------------------------------------------------------------------------------------


def as_dict(comparison: Comparison, cloudformation: CloudFormationDiff | None) -> dict[str, Any]:
    """The documented JSON shape (docs/diff.md): verdict, sides, changes, drift, files,
    cloudformation."""
    drift = comparison.drift
    return {
        "verdict": verdict(comparison),
        "changed": comparison.changed,
        "base": _side(comparison.base),
        "head": _side(comparison.head),
        "changes": [
            {"risk": c.risk, "topic": c.topic, "rule": c.rule, "message": c.message}
            for c in comparison.changes
        ],
        "drift": {
            "edited": [_file(f) for f in drift.edited],
            "missing": list(drift.missing),
            "unread": list(drift.unread),
            "extra": list(drift.extra),
        },
        "files": [_file(f) for f in comparison.files],
        "cloudformation": as_json(cloudformation) if cloudformation is not None else None,
    }


def _file(change: FileChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "status": change.status,
        "added": change.added,
        "removed": change.removed,
        "diff": change.diff,
    }


def _side(side: Side) -> dict[str, Any]:
    return {
        "label": side.label,
        "present": side.present,
        "valid": side.spec is not None,
        "diagnostics": [
            {
                "file": d.file,
                "line": d.line,
                "column": d.column,
                "message": d.message,
                "hint": d.hint,
            }
            for d in side.diagnostics
        ],
    }

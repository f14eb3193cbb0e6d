"""Writing Markdown that no value can break out of: code spans, fences and escaped text.

GitHub renders comments and files as GitHub Flavored Markdown (a CommonMark superset). The
CommonMark rules relied on (spec 0.31.2): a fenced code block ends only at a fence of the same
character at least as long as the opening one (§4.5), so a fence longer than every backtick run in
its content cannot be closed early; a code span ends only at a backtick string of the same length
(§6.1), and inside it nothing is Markdown or HTML; any ASCII punctuation can be escaped with a
backslash (§2.4), which also keeps `<` from starting HTML and `&` from starting an entity. In a
GFM table a `|` must be escaped even inside a code span (GFM §4.10).
"""

from __future__ import annotations

import re
import unicodedata

_BACKTICKS = re.compile(r"`+")
# The ASCII punctuation that can open or close Markdown inlines, HTML, entities or table cells
# mid-line (CommonMark §2.4 lets any of it be escaped; the rest reads the same escaped or not).
_SPECIAL = frozenset("\\`*_[]<>&|!#~$")
# Characters that would reorder or hide text (bidirectional controls, Trojan Source), or end a
# line for CommonMark.
_INVISIBLE = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def visible(text: str) -> str:
    """`text` on one line with control, format and bidirectional characters shown as `\\uXXXX`,
    so what is rendered is what is there."""
    return "".join(_visible(c) for c in text)


def _visible(character: str) -> str:
    if character == " " or (
        character not in _INVISIBLE and unicodedata.category(character)[0] not in "CZ"
    ):
        return character
    code = ord(character)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def code(value: str, *, in_table: bool = False) -> str:
    """`value` as an inline code span: one line, delimited by a backtick string longer than any
    run inside it (padded with spaces when it starts or ends with a backtick or space). An
    empty value shows as *(empty)*: an empty code span cannot be written."""
    text = visible(value)
    if not text:
        return "*(empty)*"
    ticks = "`" * (longest_backtick_run(text) + 1)
    padded = text.startswith(("`", " ")) or text.endswith(("`", " "))
    if padded and text.strip(" "):  # (a span of spaces only is kept as it is)
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{ticks}{text}{ticks}"


def escape(text: str) -> str:
    """Prose on one line with the punctuation that Markdown or HTML reads backslash-escaped: no
    emphasis, link, image, HTML, entity or table cell can start from it. For our own wording:
    values go in code spans (a URL or an @mention in text would still be linked by GitHub)."""
    return "".join(f"\\{c}" if c in _SPECIAL else c for c in visible(text))


def fence(content: str, info: str = "") -> str:
    """A fenced code block holding `content` exactly (line endings made `\\n`), with a fence one
    backtick longer than any run inside it, at least three. `info` is ours (e.g. `diff`)."""
    lines = content.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    body = "\n".join("".join(c if c == "\t" else _visible(c) for c in line) for line in lines)
    ticks = "`" * max(3, longest_backtick_run(body) + 1)
    return f"{ticks}{info}\n{body}\n{ticks}\n"

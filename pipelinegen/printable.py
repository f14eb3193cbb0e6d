"""Text that cannot drive a terminal: control, format and bidirectional characters shown as
escapes, for everything pipelinegen prints.

What pipelinegen prints carries text it did not write: spec values, chart text, file names and
contents from the checkout, git refs, tools' output, the command line. A terminal acts on C0
controls (ESC starts ANSI/xterm sequences that can move the cursor, rewrite the screen or the
window title, or write the clipboard), on C1 controls (U+009B is a one-character CSI), and DEL;
bidirectional controls (U+202A to U+202E, U+2066 to U+2069) reorder what a reader sees ("Trojan
Source", CVE-2021-42574). Every character of Unicode category C (control, format, surrogate,
private use, unassigned) or Z other than the space (line and paragraph separators, other
spaces) is shown as `\\uXXXX` (`\\UXXXXXXXX` beyond the BMP), so what is shown is what is there.

`one_line` escapes line breaks too (a message is one line: a value cannot fake another one);
`lines` keeps `\\n` and `\\t`, for multi-line output; `guarded_streams` passes everything the
command line writes to stdout and stderr through `lines`.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _shown(character: str, keep: str) -> str:
    if character == " " or character in keep:
        return character
    if character not in _BIDI and unicodedata.category(character)[0] not in "CZ":
        return character
    code = ord(character)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def one_line(text: str) -> str:
    """`text` with every control, format, bidirectional and line-breaking character escaped."""
    if text.isprintable() and not any(c in _BIDI for c in text):  # the common case, fast
        return text
    return "".join(_shown(c, "") for c in text)


def lines(text: str) -> str:
    """`text` escaped like `one_line`, keeping line feeds and tabs."""
    if text.isprintable() and not any(c in _BIDI for c in text):
        return text
    return "".join(_shown(c, "\n\t") for c in text)


class SafeStream:
    """A text stream that writes `lines(text)` to the stream it wraps. It has no `buffer`, so
    nothing (click included) writes around it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.encoding = getattr(stream, "encoding", "utf-8")
        self.errors = getattr(stream, "errors", "strict")

    def write(self, text: str) -> int:
        self._stream.write(lines(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False


@contextmanager
def guarded_streams() -> Iterator[None]:
    """Within the block, sys.stdout and sys.stderr escape what they are given."""
    saved = sys.stdout, sys.stderr
    sys.stdout = SafeStream(saved[0])
    sys.stderr = SafeStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved

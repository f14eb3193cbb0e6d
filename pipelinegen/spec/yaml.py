"""Read YAML into plain Python data and remember where every key and value came from.

ruamel.yaml composes the document into nodes that carry their marks; this module builds plain
dicts, lists and scalars from those nodes itself, so that it can report every duplicate key (not
just the first), refuse alias bombs, and record positions for every path. YAML 1.2 rules apply:
`yes`, `no`, `on` and `off` are strings, not booleans.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML, MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.reader import ReaderError

from pipelinegen.errors import Diagnostic, SpecError

Path = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_CORE_TAGS = {
    f"tag:yaml.org,2002:{kind}": word
    for kind, word in [
        ("null", "null"),
        ("bool", "a boolean"),
        ("int", "an integer"),
        ("float", "a number"),
        ("timestamp", "a date"),
    ]
}
MAX_NODES = 200_000  # far beyond any real spec; stops alias "billion laughs" expansions
MAX_DEPTH = 64  # a spec nests about 5 deep; this stops stack exhaustion on hostile input
# Every level of nesting takes one of these characters ('[', '{', '- ', '? ', ': '), so their
# count bounds the depth. ruamel.yaml.clib's composer recurses on the C stack and dies (SIGSEGV)
# somewhere past 20,000 levels (measured with ruamel.yaml.clib 0.2.15 on an 8 MiB stack), and
# the pure parser takes quadratic time on deep flow nesting; so text with more of them than this
# is first streamed as parse events (libyaml's parser does not recurse) to measure its depth.
MAX_STRUCTURE = 4_000
_STRUCTURE = "[{-?:"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass(frozen=True)
class Position:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass
class Document:
    """A parsed spec: plain data, where each path's key and value start, and parse problems."""

    file: str
    data: Any
    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    sources: dict[Path, str] = field(default_factory=dict)  # the text of non-string scalars
    unreadable: set[Path] = field(default_factory=set)  # values already reported as problems
    # Helm's reading of a key written twice (chart files): the last one wins, and each key whose
    # later value differs from the earlier one is listed as (path, its line, the first's line).
    last_key_wins: bool = False
    replaced: list[tuple[Path, int, int]] = field(default_factory=list)

    def diagnostic(
        self, path: Path, message: str, hint: str = "", *, at_key: bool = False
    ) -> Diagnostic:
        """A diagnostic at `path`: its key when asked (and known), else its value, else the
        nearest enclosing path that has a position."""
        for depth in range(len(path), -1, -1):
            prefix = path[:depth]
            table = (self.keys, self.values) if at_key else (self.values, self.keys)
            for positions in table:
                if prefix in positions:
                    where = positions[prefix]
                    return Diagnostic(self.file, where.line, where.column, message, hint)
        return Diagnostic(self.file, 1, 1, message, hint)


def parse(text: str, file: str, *, last_key_wins: bool = False) -> Document:
    """Parse `text`; raise SpecError on YAML syntax errors, record duplicate keys as problems.
    With `last_key_wins` (Helm's reading, for chart files) the later of a duplicated key is kept
    and, when it differs, listed in `Document.replaced`.

    The C parser (ruamel.yaml.clib) composes a spec about five times faster than the pure one,
    but words its errors more tersely; so a spec that fails to parse is parsed again by the pure
    parser, whose messages and marks the diagnostics are made from.
    """
    if _structure(text) > MAX_STRUCTURE and (deep := _too_deep(text, file)):
        raise SpecError([deep])
    _refuse_unknown_versions(text, file)
    try:
        root = _compose(text, pure=False)
    except (YAMLError, RecursionError):
        if deep := _too_deep(text, file):  # before the pure parser, slow on deep flow nesting
            raise SpecError([deep]) from None
        root = _compose_or_raise(text, file)
    yaml = YAML(typ="safe", pure=True)
    document = Document(file=file, data=None, last_key_wins=last_key_wins)
    if root is not None:
        document.data = _Builder(document, SafeConstructor(loader=yaml)).build(root, ())
    return document


_TOO_DEEP = f"the spec nests more than {MAX_DEPTH} levels deep"

# A %YAML directive starts a line; ruamel breaks lines at \r, NEL and the Unicode separators too.
_VERSION_DIRECTIVE = re.compile(r"(?:^|(?<=[\n\r\x85\u2028\u2029\ufeff]))%YAML[ \t]+([^\s#]*)")
_VERSIONS = ("1.1", "1.2")


def _refuse_unknown_versions(text: str, file: str) -> None:
    """ruamel reads YAML 1.1 and 1.2 only, and trips over a `%YAML 1.3` (AssertionError) or a
    version it meets while still resolving the previous document (KeyError) instead of
    reporting it; so every `%YAML` directive's version is checked first."""
    if "%YAML" not in text:
        return
    for match in _VERSION_DIRECTIVE.finditer(text):
        if match[1] not in _VERSIONS:
            line = len(re.findall(r"\r\n|[\n\r\x85\u2028\u2029]", text[: match.start()])) + 1
            message = f"unsupported YAML version directive '%YAML {match[1]}'"
            hint = "write '%YAML 1.2', or leave the directive out"
            raise SpecError([Diagnostic(file, line, 1, message, hint)])


# ruamel's wording → ours, for the syntax errors people actually make.
_PROBLEMS = {
    "found character '\\t' that cannot start any token": (
        "a tab indents this line",
        "YAML indents with spaces only",
    ),
    "but found another document": (
        "a second YAML document starts here",
        "a spec is one document: remove the '---' line and what follows, or merge them",
    ),
}
_OPENERS = {"while parsing a flow sequence": "'['", "while parsing a flow mapping": "'{'"}


def _structure(text: str) -> int:
    """An upper bound on the nesting depth of `text` (see MAX_STRUCTURE)."""
    return sum(text.count(character) for character in _STRUCTURE)


def _too_deep(text: str, file: str) -> Diagnostic | None:
    """Where `text` first nests deeper than MAX_DEPTH, found from parse events, which need no
    recursion; None when it does not (or a syntax error comes first: parsing reports it)."""
    depth = 0
    try:
        for event in YAML(typ="safe", pure=False).parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return Diagnostic(file, mark.line + 1, mark.column + 1, _TOO_DEEP)
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except YAMLError:
        return None
    return None


def _compose(text: str, *, pure: bool) -> Node | None:
    with warnings.catch_warnings():
        # Redefining an anchor is valid YAML: the later definition wins, as it should.
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        root: Node | None = YAML(typ="safe", pure=pure).compose(text)
        return root


def _compose_or_raise(text: str, file: str) -> Node | None:
    try:
        return _compose(text, pure=True)
    except MarkedYAMLError as error:
        raise SpecError([_syntax_diagnostic(error, file)]) from None
    except ReaderError as error:
        raise SpecError([_character_diagnostic(error, text, file)]) from None
    except RecursionError:  # ruamel's composer recurses once per nesting level
        raise SpecError([Diagnostic(file, 1, 1, _TOO_DEEP)]) from None


def _syntax_diagnostic(error: MarkedYAMLError, file: str) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    if problem in _PROBLEMS:
        message, hint = _PROBLEMS[problem]
        return Diagnostic(file, line, column, message, hint)
    hint = "check the indentation and quoting around this position"
    if error.context and error.context_mark and error.context_mark is not mark:
        opened = error.context_mark.line + 1
        opener = _OPENERS.get(error.context)
        hint = (
            f"the {opener} opened on line {opened} is not closed"
            if opener
            else f"{error.context} (line {opened})"
        )
    return Diagnostic(file, line, column, f"YAML syntax error: {problem}", hint)


def _character_diagnostic(error: ReaderError, text: str, file: str) -> Diagnostic:
    """YAML refuses most control characters; say which and where."""
    before = text[: error.position]
    line, column = before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1
    character = error.character if isinstance(error.character, int) else ord(error.character)
    message = f"the character U+{character:04X} is not allowed in YAML"
    return Diagnostic(file, line, column, message, "remove it, or write it as an escape")


def _unsupported(node: Node) -> tuple[str, str]:
    """The message and hint for a tag pipelinegen does not read."""
    return (
        f"YAML tags such as '{node.tag}' are not supported",
        "write the plain value; pipelinegen reads YAML data without tags",
    )


def _not_a_string_key(node: Node) -> tuple[str, str]:
    """A key YAML reads as another type than a string (or tags so): never made one silently."""
    word = _CORE_TAGS.get(str(node.tag))
    if word is None:
        return _unsupported(node)
    return f"the key '{node.value}' is {word} in YAML, not a string", f'quote it: "{node.value}"'


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG and node.value == ""


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain data, filling the document's position tables."""

    def __init__(self, document: Document, constructor: SafeConstructor) -> None:
        self.document = document
        self.constructor = constructor
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError([self._at(node, "the spec expands to too many values (YAML aliases?)")])
        if len(path) > MAX_DEPTH:
            raise SpecError([self._at(node, _TOO_DEEP)])
        self.document.values.setdefault(path, _position(node))
        if id(node) in self.active:
            raise SpecError([self._at(node, "a YAML alias refers to itself")])
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode | SequenceNode) and node.tag not in _COLLECTION_TAGS:
                return self._unreadable(node, path, *_unsupported(node))
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        """Merged keys first, so explicit keys win both the value and the recorded position."""
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = self._merge(value_node, path)
                for key in merged:  # problems with merged keys show where they are merged in
                    self.document.keys[(*path, key)] = _position(key_node)
                    self.document.values[(*path, key)] = _position(key_node)
                result.update(merged)
        explicit: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                self.document.problems.append(self._at(key_node, "a key must be a plain string"))
                continue
            if key_node.tag != _STR_TAG:  # `1:`, `true:`, `null:`, `2024-01-01:`, `!foo a:`
                self.document.problems.append(self._at(key_node, *_not_a_string_key(key_node)))
                continue
            key = str(key_node.value)
            if key in explicit:
                first = self.document.keys[(*path, key)]
                message, hint = f"duplicate key '{key}'", f"first defined on line {first.line}"
                self.document.problems.append(self._at(key_node, message, hint))
                if self.document.last_key_wins:
                    later = self.build(value_node, (*path, key))
                    if later != result[key]:
                        line = _position(key_node).line
                        self.document.replaced.append(((*path, key), line, first.line))
                    result[key] = later
                continue
            explicit.add(key)
            self.document.keys[(*path, key)] = _position(key_node)
            if _is_empty(value_node):  # `key:` with nothing after it: point at the key
                self.document.values[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _merge(self, node: Node, path: Path) -> dict[str, Any]:
        """`<<: *base` (or a list of them): keys of the base mappings, explicit keys win."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            value = self.build(source, path)
            if not isinstance(value, dict):
                self.document.problems.append(self._at(source, "'<<' must merge a mapping"))
                continue
            merged.update(value)
        return merged

    def _scalar(self, node: Node, path: Path) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ConstructorError:
            return self._unreadable(node, path, *_unsupported(node))
        except (ValueError, KeyError, OverflowError, IndexError, TypeError) as error:
            if node.value == "":  # `!!int` with nothing after it: the constructors index [0]
                message = f"the tag '{node.tag}' needs a value after it"
                return self._unreadable(node, path, message, "write the value, or drop the tag")
            kind = str(node.tag).rsplit(":", 1)[-1]  # e.g. the date 2001-13-01
            reason = f": {error}" if isinstance(error, ValueError) else ""
            message = f"'{node.value}' is not a valid {kind}{reason}"
            return self._unreadable(node, path, message, "quote it to make it a string")
        if not isinstance(value, str):
            self.document.sources[path] = str(node.value)
        return value

    def _unreadable(self, node: Node, path: Path, message: str, hint: str) -> None:
        """Report a value that cannot be read; the models then skip it (no second message)."""
        self.document.problems.append(self._at(node, message, hint))
        self.document.unreadable.add(path)

    def _at(self, node: Node, message: str, hint: str = "") -> Diagnostic:
        where = _position(node)
        return Diagnostic(self.document.file, where.line, where.column, message, hint)

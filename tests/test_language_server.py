"""End-to-end proof that ``schemas/pipeline.schema.json`` gives editors real help.

A real ``yaml-language-server`` (pinned in ``tests/lsp/package.json``) is started over LSP stdio
and asked for completion, hover and diagnostics on ``pipeline.yaml`` documents.  Every check runs
in the two ways a user associates the schema with the file:

* ``modeline``: the first line is ``# yaml-language-server: $schema=.pipelinegen/...``, next to a
  copy of the schema, exactly what ``pipelinegen init`` writes;
* ``settings``: no modeline; the editor's ``yaml.schemas`` setting maps the schema to
  ``pipeline.yaml``, which the server can only learn through ``workspace/configuration``.

Expectations are read from the schema itself where possible, so the test follows the schema as
it grows, plus a few literal names that the project documents and must not silently lose.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from tests.lsp.client import JsonObject, LanguageServerClient, yaml_language_server_settings

TESTS_DIR: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = TESTS_DIR.parent
SCHEMA_PATH: Final = REPO_ROOT / "schemas" / "pipeline.schema.json"
LSP_DIR: Final = TESTS_DIR / "lsp"
SERVER_PACKAGE: Final = LSP_DIR / "node_modules" / "yaml-language-server"
SERVER_BIN: Final = SERVER_PACKAGE / "bin" / "yaml-language-server"
SETUP_COMMAND: Final = "npm ci --prefix tests/lsp --ignore-scripts --no-audit --no-fund"

MODELINE_SCHEMA: Final = ".pipelinegen/pipeline.schema.json"
"""Where ``pipelinegen init`` puts the schema, relative to ``pipeline.yaml``."""

CURSOR: Final = "<|>"
"""Marks the caret in a document body; removed before the text is sent to the server."""

MODES: Final = ("modeline", "settings")


# --------------------------------------------------------------------------------------------
# Reading the schema
# --------------------------------------------------------------------------------------------


def _pointer(root: JsonObject, ref: str) -> JsonObject:
    """Follow a local ``$ref`` such as ``#/$defs/Image``."""
    if not ref.startswith("#"):
        raise AssertionError(f"only local $ref is expected in the project schema, got {ref!r}")
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert isinstance(node, dict), ref
    return node


def _resolve(root: JsonObject, node: JsonObject) -> JsonObject:
    """Reach the object/array/enum schema behind ``$ref`` and ``Optional`` (``anyOf`` + null)."""
    while True:
        if "$ref" in node:
            node = _pointer(root, node["$ref"])
            continue
        branches = [
            branch
            for branch in _branches(node, "anyOf", "oneOf", "allOf")
            if _resolve(root, branch).get("type") != "null"
        ]
        if len(branches) == 1 and "enum" not in node and "properties" not in node:
            node = branches[0]
            continue
        return node


def _branches(node: JsonObject, *keywords: str) -> list[JsonObject]:
    """Sub-schemas under the first of ``keywords`` that ``node`` has (``[]`` if none)."""
    for keyword in keywords:
        if keyword in node:
            return list(node[keyword])
    return []


def schema_at(root: JsonObject, *path: str) -> JsonObject:
    """The schema of a property path; ``"[]"`` steps into array items.

    The last step is returned unresolved, because that is where pydantic puts a field's
    ``description`` (next to a ``$ref``/``anyOf``) and where the server reads it for hover.
    """
    node = root
    for step in path:
        container = _resolve(root, node)
        node = container["items"] if step == "[]" else container["properties"][step]
    return node


def property_names(root: JsonObject, *path: str) -> set[str]:
    """Keys that an object at ``path`` may have."""
    return set(_resolve(root, schema_at(root, *path)).get("properties", {}))


def allowed_values(root: JsonObject, *path: str) -> list[Any]:
    """Values allowed by ``enum`` or by ``oneOf``/``anyOf`` of ``const`` branches."""
    node = _resolve(root, schema_at(root, *path))
    if "enum" in node:
        return list(node["enum"])
    return [branch["const"] for branch in _branches(node, "oneOf", "anyOf") if "const" in branch]


def hover_text_for(root: JsonObject, *path: str) -> str:
    """What hover should show for a key: ``markdownDescription``, else ``description``."""
    for node in (schema_at(root, *path), _resolve(root, schema_at(root, *path))):
        text = node.get("markdownDescription") or node.get("description")
        if text:
            return str(text)
    raise AssertionError(f"the schema has no description for {'.'.join(path)}")


def _normalise_markdown(text: str) -> str:
    """Undo the server's Markdown escaping and whitespace changes before comparing prose."""
    unescaped = re.sub(r"\\([\\`*_{}\[\]#+!])", r"\1", text.replace("&emsp;", " "))
    return " ".join(unescaped.split())


# --------------------------------------------------------------------------------------------
# Documents and the editor session
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """An open document: its URI, its full text, and where the caret was marked."""

    uri: str
    text: str
    cursor: tuple[int, int] | None

    def line_of(self, needle: str) -> int:
        """0-based line of the first line containing ``needle`` (LSP lines are 0-based)."""
        for number, line in enumerate(self.text.splitlines()):
            if needle in line:
                return number
        raise AssertionError(f"{needle!r} is not in the document:\n{self.text}")

    def position_in(self, needle: str) -> tuple[int, int]:
        """A position inside the first occurrence of ``needle`` (one character in)."""
        line = self.line_of(needle)
        return line, self.text.splitlines()[line].index(needle) + 1


@dataclass
class Editor:
    """One running server plus the workspace it edits, in one association mode."""

    mode: str
    client: LanguageServerClient
    workspace: Path
    _counter: Iterator[int]

    def open(self, body: str, *, associated: bool = True) -> Document:
        """Write ``body`` as ``<workspace>/doc-N/pipeline.yaml`` and open it in the server.

        Each document gets its own folder so that, in modeline mode, it sits next to its own
        ``.pipelinegen/pipeline.schema.json`` as after ``pipelinegen init``.  ``associated=False``
        writes a document that the mode does *not* tie to the schema (no modeline, or a file
        name that ``yaml.schemas`` does not match).
        """
        folder = self.workspace / f"doc-{next(self._counter)}"
        folder.mkdir()
        name = "pipeline.yaml"
        header = ""
        if self.mode == "modeline" and associated:
            copy = folder / MODELINE_SCHEMA
            copy.parent.mkdir()
            shutil.copyfile(SCHEMA_PATH, copy)
            header = f"# yaml-language-server: $schema={MODELINE_SCHEMA}\n"
        elif self.mode == "settings" and not associated:
            name = "other.yaml"
        text, cursor = _split_cursor(header + body)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return Document(self.client.did_open(path, text), text, cursor)

    def complete(self, body: str) -> set[str]:
        """Labels offered at the caret marked in ``body``."""
        document = self.open(body)
        assert document.cursor is not None, "mark the caret with <|>"
        with self._no_server_errors("completion"):
            items = self.client.completion(document.uri, *document.cursor)
        return {item["label"] for item in items}

    def hover(self, document: Document, needle: str) -> str:
        """Hover text over the first occurrence of ``needle`` in ``document``."""
        with self._no_server_errors("hover"):
            return self.client.hover(document.uri, *document.position_in(needle))

    @contextlib.contextmanager
    def _no_server_errors(self, what: str) -> Iterator[None]:
        """Fail on errors the server swallowed: it would otherwise return a partial answer.

        yaml-language-server stops building a completion list at the first exception (say, a
        schema construct it cannot render) and returns what it had, so a missing key could
        look like a schema problem when the schema is what crashed the server.
        """
        before = len(self.client.server_errors)
        yield
        errors = self.client.server_errors[before:]
        assert not errors, f"yaml-language-server failed during {what}:\n" + "\n".join(errors)


def _split_cursor(marked: str) -> tuple[str, tuple[int, int] | None]:
    """Remove the caret marker and return the text and the caret's 0-based (line, column)."""
    index = marked.find(CURSOR)
    if index < 0:
        return marked, None
    before = marked[:index]
    line = before.count("\n")
    column = index - (before.rfind("\n") + 1)
    return before + marked[index + len(CURSOR) :], (line, column)


def _require_server() -> None:
    """Fail, never skip, when the pinned server is missing: a skip would hide a broken set-up."""
    if shutil.which("node") is None:
        pytest.fail("`node` is not on PATH; the language-server tests need Node.js.", pytrace=False)
    if not SERVER_BIN.is_file():
        pytest.fail(
            f"yaml-language-server is not installed in {LSP_DIR / 'node_modules'}.\n"
            f"Run from the repository root: {SETUP_COMMAND}",
            pytrace=False,
        )
    wanted = json.loads((LSP_DIR / "package.json").read_text())["dependencies"]
    installed = json.loads((SERVER_PACKAGE / "package.json").read_text())["version"]
    if installed != wanted["yaml-language-server"]:
        pytest.fail(
            f"yaml-language-server {installed} is installed but package.json pins "
            f"{wanted['yaml-language-server']}. Run: {SETUP_COMMAND}",
            pytrace=False,
        )
    if not SCHEMA_PATH.is_file():
        pytest.fail(f"{SCHEMA_PATH} is missing; it is generated from the models.", pytrace=False)


def test_pinned_server_is_installed() -> None:
    """Reported as a failure of its own, so a missing ``npm ci`` reads as one clear line."""
    _require_server()


@pytest.fixture(scope="module")
def schema() -> JsonObject:
    """The project's schema, as committed."""
    _require_server()
    loaded = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module", params=MODES)
def editor(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Editor]:
    """One server per mode for the whole module: starting node costs far more than a request."""
    _require_server()
    mode: str = request.param
    workspace = tmp_path_factory.mktemp(f"workspace-{mode}")
    associations = {SCHEMA_PATH.as_uri(): ["pipeline.yaml"]} if mode == "settings" else {}
    client = LanguageServerClient(
        ["node", str(SERVER_BIN), "--stdio"],
        root=workspace,
        settings=yaml_language_server_settings(associations),
    )
    client.start()
    try:
        yield Editor(mode, client, workspace, itertools.count(1))
    finally:
        exit_code = client.stop()
    assert exit_code == 0, f"the server did not shut down cleanly (exit code {exit_code})"


# --------------------------------------------------------------------------------------------
# Completion
# --------------------------------------------------------------------------------------------


def test_top_level_completion_offers_every_key(editor: Editor, schema: JsonObject) -> None:
    labels = editor.complete(f"{CURSOR}\n")

    expected = set(schema["properties"])
    assert {"version", "name", "aws", "images", "environments"} <= expected
    assert expected <= labels, f"missing top-level keys: {sorted(expected - labels)}"


def test_image_item_completion_offers_its_keys(editor: Editor, schema: JsonObject) -> None:
    labels = editor.complete(f"images:\n  - {CURSOR}\n")

    expected = property_names(schema, "images", "[]")
    assert {"name", "context", "dockerfile", "platforms", "build_args", "target"} <= expected
    assert expected <= labels, f"missing image keys: {sorted(expected - labels)}"


def test_environment_item_completion_offers_its_keys(editor: Editor, schema: JsonObject) -> None:
    labels = editor.complete(f"environments:\n  - {CURSOR}\n")

    expected = property_names(schema, "environments", "[]")
    assert {"cluster", "namespace", "values", "approval", "marketplace"} <= expected
    assert expected <= labels, f"missing environment keys: {sorted(expected - labels)}"


def test_region_value_completion_offers_region_names(editor: Editor, schema: JsonObject) -> None:
    labels = editor.complete(f"aws:\n  region: {CURSOR}\n")

    expected = {str(value) for value in allowed_values(schema, "aws", "region")}
    assert {"us-east-1", "eu-west-1"} <= expected
    assert expected <= labels, f"missing regions: {sorted(expected - labels)}"


def test_unassociated_document_gets_no_pipeline_keys(editor: Editor) -> None:
    """Control: without the modeline or a matching file name the schema must not apply.

    This is what makes the other tests meaningful: they pass because of the association
    under test, not because the server found the schema some other way.
    """
    document = editor.open(f"{CURSOR}\n", associated=False)
    assert document.cursor is not None
    items = editor.client.completion(document.uri, *document.cursor)

    assert not {"images", "environments"} & {item["label"] for item in items}


# --------------------------------------------------------------------------------------------
# Hover
# --------------------------------------------------------------------------------------------

HOVER_DOCUMENT: Final = """\
aws:
  account: "123456789012"
environments:
  - name: prod
    cluster: prod-eks
"""


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("cluster", ("environments", "[]", "cluster")),
        ("account", ("aws", "account")),
    ],
)
def test_hover_on_key_shows_its_description(
    editor: Editor, schema: JsonObject, key: str, path: tuple[str, ...]
) -> None:
    document = editor.open(HOVER_DOCUMENT)
    shown = editor.hover(document, f"{key}:")

    expected = hover_text_for(schema, *path)
    assert _normalise_markdown(expected) in _normalise_markdown(shown), shown


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------


def _starts(diagnostics: list[JsonObject]) -> set[tuple[int, int]]:
    """0-based (line, character) where each diagnostic starts."""
    return {
        (diagnostic["range"]["start"]["line"], diagnostic["range"]["start"]["character"])
        for diagnostic in diagnostics
    }


def test_account_that_breaks_the_pattern_is_flagged_on_its_value(editor: Editor) -> None:
    """The diagnostic starts at the bad value; the same line with a good value has none.

    Positions, not message texts, are compared: the schema may word its own error messages.
    """
    bad = editor.open('aws:\n  account: "12345"\n')
    good = editor.open('aws:\n  account: "123456789012"\n')

    bad_starts = _starts(editor.client.wait_for_diagnostics(bad.uri))
    good_starts = _starts(editor.client.wait_for_diagnostics(good.uri))

    line, after_quote = bad.position_in('"12345"')
    assert (line, after_quote - 1) in bad_starts, bad_starts
    assert line not in {start_line for start_line, _ in good_starts}, good_starts


def test_unknown_key_is_flagged_on_its_line(editor: Editor) -> None:
    document = editor.open("environments:\n  - name: prod\n    cluster: prod-eks\n    clustr: x\n")

    diagnostics = editor.client.wait_for_diagnostics(document.uri)

    lines = {line for line, _ in _starts(diagnostics)}
    assert document.line_of("clustr:") in lines, diagnostics
    assert document.line_of("cluster:") not in lines, diagnostics
    assert any("clustr" in diagnostic["message"] for diagnostic in diagnostics), diagnostics


# --------------------------------------------------------------------------------------------
# The shipped examples
# --------------------------------------------------------------------------------------------

EXAMPLES: Final = sorted((REPO_ROOT / "examples").glob("*/pipeline.yaml"))


def _without_modeline(text: str) -> str:
    """Drop an example's own ``# yaml-language-server:`` line so the mode under test decides."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines = lines[1:]
    return "".join(lines)


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.parent.name for path in EXAMPLES])
def test_examples_are_clean_in_the_editor(editor: Editor, example: Path) -> None:
    """The shipped examples validate in the editor too, not only in ``pipelinegen validate``:
    the server checks patterns with JavaScript regular expressions and reads the schema with
    its own draft 2020-12 rules, so a schema Python accepts could still flag a valid file."""
    document = editor.open(_without_modeline(example.read_text(encoding="utf-8")))

    assert editor.client.wait_for_diagnostics(document.uri) == []
    assert editor.hover(document, "version:"), "no hover: the schema was not applied at all"

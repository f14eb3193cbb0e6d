"""Property-based tests: the loader never crashes, whatever text it is given.

`load` is the one door every spec comes through, from the CLI and from an editor on every
keystroke, so half-typed and nonsensical input is its normal diet. Its contract: a `Spec`, or a
`SpecError` whose diagnostics are located inside the text, worded, sorted and unique. Any other
exception is a bug, which the CLI reports as exit 3. The inputs come from `tests.spec.strategies`.

Inputs that once crashed the loader stay in FORMER_CRASHES, checked on every run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import event, given, settings
from hypothesis import strategies as st

from pipelinegen import naming
from pipelinegen.cli import cli
from pipelinegen.errors import Diagnostic, ExitCode, SpecError
from pipelinegen.spec.load import load
from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import Repository, WorkingTree
from tests.spec import strategies

FILE = "pipeline.yaml"

# Reproducible in CI: the same examples every run, and nothing written to .hypothesis/.
# FUZZ_EXAMPLES raises the count for a long run (FUZZ_EXAMPLES=5000); CI runs the default.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
CLI_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 3, 100))


# --- inputs that once crashed -------------------------------------------------------------


FORMER_CRASHES: tuple[str, ...] = (
    "images: [{name: []}]",  # TypeError: unhashable name in rules._check_names_free
    "images: [{name: {}}]",
    "[" * 1000 + "]" * 1000,  # RecursionError in ruamel's parser
    "images: " + "- " * 1000 + "x",
    "\x00",  # ReaderError: control characters
    "a: \x07",
    "2001-13-01",  # ValueError from the timestamp constructor
    "!!int x",
    "!!float x",
    "0x_",
    "version: 0000-01-01",
    "!!bool x",  # KeyError from the bool constructor
    "[&a 1, &a 2]",  # ReusedAnchorWarning, an error under filterwarnings=error
    "helm: {chart: " + "a" * 300 + "}",  # OSError: file name too long
    "[" * 30_000 + "]" * 30_000,  # SIGSEGV: ruamel.yaml.clib's composer recurses on the C stack
    "- " * 30_000 + "x",
    "!!int",  # IndexError: the int constructor reads value[0] of an empty scalar
    "version: !!float",
    "!<tag:yaml.org,2002:int>",
    "!!str [1]",  # a tag on a collection, read as if it were not there
    "%YAML 1.3\n--- a",  # AssertionError from ruamel's resolver: only 1.1 and 1.2
    "a: b\n...\n%YAML 0.1\n--- c",  # KeyError: a version met while resolving the document before
    "a: 1\r%YAML 1.9\r--- b",  # the same after a carriage-return line break
)
REPRODUCER_TREE = WorkingTree(strategies.EXAMPLES / "minimal")  # read only


@pytest.mark.parametrize("text", FORMER_CRASHES, ids=lambda text: repr(text[:20]))
def test_former_crashes_load_cleanly(text: str) -> None:
    """Regression inputs (all invalid): a well-formed SpecError, no tolerance for known bugs."""
    with pytest.raises(SpecError) as raised:
        load(text, file=FILE, repository=REPRODUCER_TREE)
    check_diagnostics(text, raised.value.diagnostics)


# --- the property -----------------------------------------------------------------------------


def check_diagnostics(text: str, diagnostics: list[Diagnostic]) -> None:
    """At least one; each inside the text (1-based) and worded; sorted and unique."""
    assert diagnostics, "a SpecError without diagnostics"
    last_line = len(text.splitlines()) + 1  # a syntax error may point just past the end
    for diagnostic in diagnostics:
        if diagnostic.file == naming.CDK_EXTENSION:  # the team's extend.py, read beside the spec
            continue
        assert diagnostic.file == FILE, diagnostic
        assert 1 <= diagnostic.line <= last_line, diagnostic
        assert diagnostic.column >= 1, diagnostic
        assert diagnostic.message.strip(), diagnostic
    assert diagnostics == sorted(set(diagnostics)), "diagnostics not sorted and unique"


def check_load(text: str, repository: Repository | None = None) -> None:
    """`load` returns a Spec or raises a well-formed SpecError; anything else is a bug."""
    try:
        spec = load(text, file=FILE, repository=repository)
    except SpecError as error:
        check_diagnostics(text, error.diagnostics)
        event("invalid")
        return
    assert isinstance(spec, Spec)
    event("valid")


@FUZZ
@given(text=strategies.random_text(), repository=strategies.repositories())
def test_random_text_never_crashes(text: str, repository: Repository | None) -> None:
    """Noise, bytes in the wrong encoding, YAML punctuation soup, long lines, multi-documents."""
    check_load(text, repository)


@FUZZ
@given(text=strategies.yaml_documents(), repository=strategies.repositories())
def test_random_documents_never_crash(text: str, repository: Repository | None) -> None:
    """Well-formed YAML of any shape, keyed mostly by the spec's own field names."""
    check_load(text, repository)


@FUZZ
@given(text=strategies.mutated_examples(), repository=strategies.repositories())
def test_mutated_examples_never_crash(text: str, repository: Repository | None) -> None:
    """Near-valid specs, the input people really write: the rules and path checks run too."""
    check_load(text, repository)


@FUZZ
@given(text=strategies.hostile_text(), repository=strategies.repositories())
def test_hostile_text_never_crashes(text: str, repository: Repository | None) -> None:
    """Explicit tags on empty scalars, nesting bombs past every stack, control characters."""
    check_load(text, repository)


# --- through the CLI --------------------------------------------------------------------------


def _any_text() -> st.SearchStrategy[str]:
    return st.one_of(
        strategies.random_text(),
        strategies.yaml_documents(),
        strategies.mutated_examples(),
        strategies.hostile_text().filter(_encodable),
    )


def _encodable(text: str) -> bool:
    """The CLI reads UTF-8 files: lone surrogates cannot be written into one."""
    return not any("\ud800" <= c <= "\udfff" for c in text)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A copy of every example's folder, so a spec written there names files that exist and
    valid specs exit 0. Module-scoped: Hypothesis rejects function-scoped fixtures, which would
    be shared by all examples anyway."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(strategies.EXAMPLES, root, dirs_exist_ok=True)
    return sorted(spec.parent for spec in root.glob(f"*/{FILE}"))


@CLI_FUZZ
@given(text=_any_text(), data=st.data())
def test_cli_validate_json_never_crashes(trees: list[Path], text: str, data: st.DataObject) -> None:
    """`validate --format json` exits 0 or 1 (never 3) and prints JSON with a diagnostics list."""
    tree = data.draw(st.sampled_from(trees), label="tree")
    spec = tree / FILE
    spec.write_bytes(text.encode("utf-8"))
    result = CliRunner().invoke(cli, ["validate", str(spec), "--format", "json"])
    event(f"exit {result.exit_code}")
    assert result.exit_code in (ExitCode.OK, ExitCode.FAILURE), result.output
    report = json.loads(result.stdout)
    assert isinstance(report["diagnostics"], list)
    assert report["valid"] is (result.exit_code == ExitCode.OK)
    assert bool(report["diagnostics"]) is (result.exit_code == ExitCode.FAILURE)

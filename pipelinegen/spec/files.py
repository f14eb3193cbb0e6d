"""Checks of the paths a spec names against the repository it lives in (see `repository`)."""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterator
from typing import Literal

from pipelinegen import naming
from pipelinegen.errors import Diagnostic
from pipelinegen.spec.models import Image
from pipelinegen.spec.repository import Kind, Repository
from pipelinegen.spec.rules import is_file_reference, items, section, usage_instructions_length
from pipelinegen.spec.types import escapes, is_relative
from pipelinegen.spec.yaml import Document
from pipelinegen.spec.yaml import Path as DataPath

Wanted = Kind | Literal["chart"]  # a chart is a directory with a Chart.yaml


def check(document: Document, repository: Repository) -> list[Diagnostic]:
    """Every referenced path must exist, with the right kind; usage text must fit Marketplace.

    Reads the plain data, like the rules, so missing files are reported in the same run as any
    other problem; values that are not clean relative paths are left to the models.
    """
    found = [
        document.diagnostic(path, message, hint)
        for path, wanted, name, hint in _references(document)
        if (message := _missing(repository, name, wanted))
    ]
    found.extend(_usage_instructions(document, repository))
    found.extend(_extension(document, repository))
    return found


ROOT_HINT = "paths are relative to the repository root: the spec's folder"


def _dockerfile_hint(context: str, dockerfile: str) -> str:
    """The Dockerfile is relative to the context; say so, with the fix when it is plain."""
    hint = f"the Dockerfile is relative to the context ('{context}')"
    prefix = f"{posixpath.normpath(context)}/"
    if context not in ("", ".") and posixpath.normpath(dockerfile).startswith(prefix):
        return f"{hint}: write '{posixpath.normpath(dockerfile).removeprefix(prefix)}'"
    return hint


def _references(document: Document) -> Iterator[tuple[DataPath, Wanted, str, str]]:
    for index, image in items(document, "images"):
        if not set(image) <= set(Image.model_fields):
            continue  # a misspelt `context:` would send the check to the default; say only that
        context = image.get("context", ".")
        dockerfile = image.get("dockerfile", "Dockerfile")
        if _clean(context):
            yield ("images", index, "context"), "directory", context, ROOT_HINT
            if isinstance(dockerfile, str) and _clean(joined := _join(context, dockerfile)):
                hint = _dockerfile_hint(context, dockerfile)
                yield ("images", index, "dockerfile"), "file", joined, hint
    chart = section(document, "helm").get("chart")
    if isinstance(chart, str) and _clean(chart):
        yield ("helm", "chart"), "chart", chart, ROOT_HINT
    for index, environment in items(document, "environments"):
        values = environment.get("values")
        for position, path in enumerate(values if isinstance(values, list) else []):
            if _clean(path):
                yield ("environments", index, "values", position), "file", path, ROOT_HINT
    usage = _usage_file(document)
    if usage:
        yield ("marketplace", "usage_instructions"), "file", usage, ROOT_HINT


def _clean(path: object) -> bool:
    """A relative path inside the repository (others are reported by the models or rules)."""
    return isinstance(path, str) and bool(path) and is_relative(path) and not escapes(path)


def _join(context: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(context, path))


def _usage_file(document: Document) -> str | None:
    text = section(document, "marketplace").get("usage_instructions")
    if isinstance(text, str) and is_file_reference(text) and _clean(text):
        return posixpath.normpath(text)
    return None


def _missing(repository: Repository, path: str, wanted: Wanted) -> str:
    """The problem with `path`, or '' when it is there with the wanted kind."""
    found = repository.kind(path)
    if wanted == "chart":
        if found == "directory" and repository.kind(f"{path}/Chart.yaml") != "file":
            return f"'{path}' is not a Helm chart (it has no Chart.yaml)"
        wanted = "directory"
    if found == wanted:
        return ""
    if found is None:
        return f"{wanted} '{path}' does not exist"
    if found == "outside":
        return f"'{path}' is a symbolic link that leads outside the repository"
    if found == "special":
        return f"'{path}' is a special file (FIFO, socket or device), not a {wanted}"
    return f"'{path}' is a {found}, not a {wanted}"


def _usage_instructions(document: Document, repository: Repository) -> Iterator[Diagnostic]:
    path = _usage_file(document)
    if path and repository.kind(path) == "file":
        try:
            length = len(repository.read_text(path))
        except (OSError, UnicodeDecodeError) as error:
            where = ("marketplace", "usage_instructions")
            yield document.diagnostic(where, f"cannot read '{path}': {error}", "it must be UTF-8")
            return
        yield from usage_instructions_length(document, f"'{path}'", length)


def _extension(document: Document, repository: Repository) -> Iterator[Diagnostic]:
    """The team's extend.py, when there is one: a regular file whose Python parses and defines
    `extend(stacks, spec)`. Read with `ast`, never imported: a checkout is not trusted."""
    path = naming.CDK_EXTENSION
    file = posixpath.join(posixpath.dirname(document.file), path)
    kind = repository.kind(path)
    if kind is None:
        return
    if kind != "file":
        yield Diagnostic(file, 1, 1, _missing(repository, path, "file"), EXTENSION_HINT)
        return
    try:
        text = repository.read_text(path)
        tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        message = f"extend.py does not parse: {error.msg}"
        yield Diagnostic(file, error.lineno or 1, error.offset or 1, message, EXTENSION_HINT)
        return
    except (OSError, UnicodeDecodeError, ValueError) as error:
        yield Diagnostic(file, 1, 1, f"cannot read extend.py: {error}", EXTENSION_HINT)
        return
    if not any(_is_extend(node) for node in tree.body):
        message = "extend.py defines no function `extend(stacks, spec)` at its top level"
        yield Diagnostic(file, 1, 1, message, EXTENSION_HINT)


EXTENSION_HINT = (
    "the CDK app imports extend.py and calls extend(stacks, spec) after building its stacks; "
    "see the documentation's 'Extending what pipelinegen generates'"
)


def _is_extend(node: ast.stmt) -> bool:
    if not isinstance(node, ast.FunctionDef) or node.name != "extend":
        return False
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    return len(positional) >= 2 or arguments.vararg is not None

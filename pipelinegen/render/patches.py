"""The spec's `patches:`: JSON Patch operations (RFC 6902) on generated files, applied last.

A patch is the team's escape hatch for what no spec key says (a step, a runner, an input), kept
inside `compile`, so `compile --check`, `diff` and upgrades keep working. A workflow is read as
YAML data with ruamel.yaml's round-trip loader and written back with it, so its header, its
comments (the `# vX.Y.Z` beside each pinned action) and its layout survive; a JSON file is
written as every generated JSON file is (two-space indent, a final newline). The operations are
applied by `jsonpatch` (python-json-patch 1.33, RFC 6902 and RFC 6901 pointers).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipelinegen import naming
from pipelinegen.errors import Diagnostic
from pipelinegen.render.github.actions import ACTIONS
from pipelinegen.spec.models import PatchOperation, Spec
from pipelinegen.spec.yaml import Document

# Generated files a patch may not touch: the record (it describes the files, and is written
# after patching) and the copy of pipelinegen's own JSON Schema (the editor's contract).
UNPATCHABLE = frozenset({naming.RECORD, naming.SCHEMA_COPY})


@dataclass(frozen=True)
class PatchError(Exception):
    """An operation that does not apply: `target` is the file, `index` the operation (None for
    the file itself), `message` what went wrong."""

    target: str
    index: int | None
    message: str
    hint: str = "read the generated file (`pipelinegen compile`) for the paths it has"

    def __str__(self) -> str:
        return self.message


def apply(files: dict[str, str], patches: Mapping[str, list[PatchOperation]]) -> dict[str, str]:
    """`files` with each patched file replaced by its patched text.

    Raises PatchError for a target that is no patchable generated file, or an operation that
    does not apply (a missing path, a failed `test`)."""
    patched = dict(files)
    for target, operations in patches.items():
        if target in UNPATCHABLE:
            message = f"'{target}' is pipelinegen's own (the record or the schema): not patchable"
            raise PatchError(target, None, message, "patch the files it lists instead")
        if target not in files:
            raise PatchError(target, None, f"'{target}' is not a generated file a patch can edit")
        patched[target] = _patch_file(target, files[target], operations)
    return patched


def _patch_file(target: str, text: str, operations: list[PatchOperation]) -> str:
    import jsonpatch  # only a spec with patches needs it

    document = _load(target, text)
    ours = set() if _is_json(target) else {uses for _, uses in _uses(document)}
    for index, operation in enumerate(operations):
        try:
            document = jsonpatch.apply_patch(document, [_operation(target, operation)])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise PatchError(target, index, _describe(document, operation, error)) from None
        if not _is_json(target) and (unpinned := _unpinned(document, ours)):
            raise PatchError(
                target,
                index,
                f"'uses: {unpinned}' is not pinned: a workflow uses an action at a full commit "
                "SHA (`owner/repo@<40 hex>`), or a local one (`./path`)",
                "write the commit the release's tag points to: owner/repo@<sha> # vX.Y.Z",
            )
    if not _is_json(target):
        _comment_versions(document)
    return _dump(target, document)


def _operation(target: str, operation: PatchOperation) -> dict[str, Any]:
    """The RFC 6902 operation; into YAML, its value as round-trip data (so comments attach)."""
    found = operation.operation()
    if "value" in found and not _is_json(target):
        found["value"] = _commented(found["value"])
    return found


def _commented(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        return CommentedMap((key, _commented(item)) for key, item in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(item) for item in value)
    return value


PINNED_COMMENT = re.compile(r"(@[0-9a-f]{40})  # ")
PINNED = re.compile(r"^([^@\s]+)@([0-9a-f]{40})$")


def _uses(document: Any) -> Iterator[tuple[Any, str]]:
    """Each (mapping, value) holding a `uses:` in a workflow: jobs and their steps."""
    jobs = document.get("jobs") if isinstance(document, dict) else None
    for job in jobs.values() if isinstance(jobs, dict) else []:
        if isinstance(job, dict):
            steps = job.get("steps")
            for holder in [job, *(steps if isinstance(steps, list) else [])]:
                if isinstance(holder, dict) and isinstance(holder.get("uses"), str):
                    yield holder, holder["uses"]


def _unpinned(document: Any, ours: set[str]) -> str | None:
    """A `uses:` a patch brought in that is neither pinned by SHA nor local."""
    for _, uses in _uses(document):
        if uses not in ours and not (uses.startswith("./") or PINNED.match(uses)):
            return uses
    return None


def _comment_versions(document: Any) -> None:
    """`# vX.Y.Z` beside each vetted action a patch added, as pipelinegen writes its own."""
    from ruamel.yaml.comments import CommentedMap

    vetted = {(a.repository, a.sha): a.version for a in ACTIONS.values()}
    for holder, uses in _uses(document):
        found = PINNED.match(uses)
        version = vetted.get((found[1], found[2])) if found else None
        if version and isinstance(holder, CommentedMap) and "uses" not in holder.ca.items:
            holder.yaml_add_eol_comment(f"# {version}", "uses")


def _describe(document: Any, operation: PatchOperation, error: Exception) -> str:
    """Why the operation does not apply, in a line: the pointer's first missing step and what
    is there instead (jsonpatch's own message holds the whole document)."""
    what = f"patch '{operation.op}' at '{operation.path}' does not apply"
    if operation.op == "test" and type(error).__name__ == "JsonPatchTestFailed":
        return f"{what}: the value there is not the one given"
    pointers = [operation.path, *([operation.from_] if operation.from_ else [])]
    for pointer in pointers:
        adding = operation.op in ("add", "move", "copy") and pointer == operation.path
        if reason := _first_missing(document, pointer, adding=adding):
            return f"{what}: {reason}"
    return f"{what}: {type(error).__name__}"


def _first_missing(document: Any, pointer: str, *, adding: bool) -> str | None:
    """What stops `pointer` from reaching a value, or None when it does (an `add` may name one
    new last key, or `-` for the end of a list)."""
    if pointer and not pointer.startswith("/"):
        return f"'{pointer}' is no JSON Pointer: it must start with '/'"
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node, walked = document, ""
    for position, part in enumerate(parts):
        last = adding and position == len(parts) - 1
        where = walked or "the document root"
        if isinstance(node, dict):
            if part not in node:
                return None if last else f"{where} has no key '{part}' (it has: {_keys(node)})"
            node = node[part]
        elif isinstance(node, list):
            if last and (part == "-" or (part.isdigit() and int(part) <= len(node))):
                return None
            if not (part.isdigit() and int(part) < len(node)):
                return f"{where} is a list of {len(node)} items: no item '{part}'"
            node = node[int(part)]
        else:
            return f"{where} is a single value, not a mapping or a list"
        walked += "/" + part.replace("~", "~0").replace("/", "~1")
    return None


def _keys(mapping: dict[Any, Any]) -> str:
    names = [str(key) for key in mapping]
    shown = ", ".join(names[:12])
    return f"{shown}, …" if len(names) > 12 else shown or "nothing"


def _is_json(target: str) -> bool:
    return target.endswith(".json")


def _load(target: str, text: str) -> Any:
    if _is_json(target):
        return json.loads(text)
    return _yaml().load(text)


def _dump(target: str, document: Any) -> str:
    if _is_json(target):
        return json.dumps(document, indent=2) + "\n"
    out = io.StringIO()
    _yaml().dump(document, out)
    # ruamel puts two spaces before the `# vX.Y.Z` it adds; the workflows write one.
    return PINNED_COMMENT.sub(r"\1 # ", out.getvalue())


def _yaml() -> Any:
    """The round-trip reader and writer, set to the generated workflows' layout."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long line (a `run:` script, an expression)
    yaml.preserve_quotes = True
    return yaml


def check(spec: Spec, document: Document) -> list[Diagnostic]:
    """Every patch applied to the files `spec` generates: a located diagnostic for the first
    operation of each file that does not apply, or for a target that is no patchable file."""
    from pipelinegen.render import Source, generated  # the spec stage imports this lazily

    files = generated(spec, Source(path="pipeline.yaml", text=""))
    found = []
    for target, operations in spec.patches.items():
        try:
            apply(files, {target: operations})
        except PatchError as error:
            found.append(_located(error, document, sorted(set(files) - UNPATCHABLE)))
    return found


def _located(error: PatchError, document: Document, targets: list[str]) -> Diagnostic:
    if error.index is not None:
        where = ("patches", error.target, error.index, "path")
        return document.diagnostic(where, str(error), error.hint)
    hint = error.hint
    if error.target not in UNPATCHABLE:
        import difflib

        close = difflib.get_close_matches(error.target, targets, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "name a file `compile` writes"
    return document.diagnostic(("patches", error.target), str(error), hint, at_key=True)

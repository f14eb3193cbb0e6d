"""Load a spec: parse, validate the models, apply the cross-field rules, check the paths, and
check the chart against the spec.

Every stage runs even when an earlier one found problems (as far as the data allows), so one run
reports everything; the result is a valid `Spec` or a `SpecError` holding all diagnostics. Only
these wait for others, because their answer would be meaningless before:

- nothing runs past a spec that cannot be read as YAML, or whose root is not a mapping;
- a missing file is not looked for when its path is malformed (the models report that);
- the chart check needs a spec the models accept once every key they refused is set aside (an
  unknown key, a value of the wrong type), and it waits for any problem in what it reads: the
  `helm` section, the images' names and values mappings, and `marketplace`.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from pipelinegen.errors import Diagnostic, SpecError
from pipelinegen.spec import files, rules
from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import Repository
from pipelinegen.spec.yaml import Document, Path, parse

EXTENSION_PREFIX = "x-"  # top-level keys for YAML anchors, as in Docker Compose; ignored
_SET_ASIDE_ROUNDS = 4  # each round removes the keys of one level of errors


def load(
    text: str,
    *,
    file: str,
    repository: Repository | None = None,
    warnings: list[Diagnostic] | None = None,
) -> Spec:
    """The validated spec in `text` (named `file` in messages); paths checked in `repository`.
    What is valid but likely not meant (a chart key written twice) is added to `warnings`."""
    document = parse(text, file)
    if document.data is None and document.problems:  # a root value that could not be read
        raise SpecError(document.problems)
    if not isinstance(document.data, dict):
        what = "empty" if document.data is None else "not a mapping of keys"
        hint = "start from 'pipelinegen init', or see the examples"
        raise SpecError([*document.problems, Diagnostic(file, 1, 1, f"the spec is {what}", hint)])
    document.data = {k: v for k, v in document.data.items() if not k.startswith(EXTENSION_PREFIX)}
    problems = [*document.problems, *rules.check(document)]
    if repository is not None:
        problems.extend(files.check(document, repository))
    spec, set_aside = _validate(document, problems)
    if (
        repository is not None
        and spec is not None
        and not _touches_chart(document, problems, set_aside)
    ):
        from pipelinegen.chart.check import check as check_chart  # reads the chart

        problems.extend(check_chart(spec, document, repository, warnings=warnings))
    if spec is not None and spec.patches and not problems and not set_aside:
        from pipelinegen.render.patches import check as check_patches  # renders the files

        problems.extend(check_patches(spec, document))
    if problems or set_aside:
        raise SpecError(problems)
    assert spec is not None
    return spec


def _validate(document: Document, problems: list[Diagnostic]) -> tuple[Spec | None, list[Path]]:
    """The models' verdict, their diagnostics added to `problems`; with errors, the spec that
    remains once the refused keys are set aside (None when none remains), and those keys."""
    try:
        return Spec.model_validate(document.data), []
    except ValidationError as error:
        from pipelinegen.spec.diagnostics import describe  # only invalid specs need the words

        problems.extend(describe(error.errors(include_url=False), Spec, document))
        return _without_refused(document.data, error)


def _without_refused(
    data: dict[str, Any], error: ValidationError
) -> tuple[Spec | None, list[Path]]:
    """Remove the key of every error (the nearest mapping key at or above it: list items are
    kept, so every index still names the spec's own item) and validate again, a few rounds."""
    from pipelinegen.spec.diagnostics import data_path

    remaining = copy.deepcopy(data)
    set_aside: list[Path] = []
    for _ in range(_SET_ASIDE_ROUNDS):
        removed = False
        for details in error.errors(include_url=False):
            path = data_path(Spec, details["loc"])
            while path and not isinstance(path[-1], str):
                path = path[:-1]
            removed |= _remove(remaining, path)
            set_aside.append(path)
        try:
            return Spec.model_validate(remaining), set_aside
        except ValidationError as again:
            error = again
        if not removed:
            break
    return None, set_aside


def _remove(data: Any, path: Path) -> bool:
    """Delete the mapping key at `path`; False when there is none."""
    if not path:
        return False
    for part in path[:-1]:
        inside = isinstance(data, dict) and part in data
        inside |= isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not inside:
            return False
        data = data[part]
    if isinstance(data, dict) and path[-1] in data:
        del data[path[-1]]
        return True
    return False


def _reads_chart(path: Path) -> bool:
    """Whether the chart check reads the spec at `path` (or under it)."""
    if not path or path[0] in ("helm", "marketplace"):
        return True
    if path[0] not in ("images", "third_party_images"):
        return False
    return len(path) < 3 or path[2] in ("name", "values", "image")


def _touches_chart(document: Document, problems: list[Diagnostic], set_aside: list[Path]) -> bool:
    """Whether a problem already found is in what the chart check reads, so its verdict would be
    about a spec the user did not write. Problems are matched to paths by their position."""
    if any(_reads_chart(path) for path in set_aside):
        return True
    spots = {
        (position.line, position.column)
        for positions in (document.keys, document.values)
        for path, position in positions.items()
        if path and _reads_chart(path)
    }
    return any((problem.line, problem.column) in spots for problem in problems)

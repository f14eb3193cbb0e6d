"""Load a spec: parse, validate the models, apply the cross-field rules, check the paths.

Every stage runs even when an earlier one found problems (as far as the data allows), so one run
reports everything; the result is a valid `Spec` or a `SpecError` holding all diagnostics.
"""

from __future__ import annotations

from pydantic import ValidationError

from pipelinegen.errors import Diagnostic, SpecError
from pipelinegen.spec import files, rules
from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import Repository
from pipelinegen.spec.yaml import parse

EXTENSION_PREFIX = "x-"  # top-level keys for YAML anchors, as in Docker Compose; ignored


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
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as error:
        from pipelinegen.spec.diagnostics import describe  # only invalid specs need the words

        problems.extend(describe(error.errors(include_url=False), Spec, document))
        raise SpecError(problems) from None
    if repository is not None and not problems:
        from pipelinegen.chart.check import check as check_chart  # reads the chart

        problems.extend(check_chart(spec, document, repository, warnings=warnings))
    if spec.patches and not problems:
        from pipelinegen.render.patches import check as check_patches  # renders the files

        problems.extend(check_patches(spec, document))
    if problems:
        raise SpecError(problems)
    return spec

"""Job ids differ in more than letter case: GitHub compares them case-insensitively."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import run

TEST_CHECK = "  - name: test\n"


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ("Test", "check name 'test' is used twice (as 'Test': letter case does not count)"),
        ("PipelineGen", "check name 'PipelineGen' is taken by pipelinegen's own job"),
        ("Build-Hello", "check name 'Build-Hello' is taken by the build of 'hello'"),
    ],
)
def test_check_names_that_differ_only_in_case_are_refused(
    minimal: Path, added: str, message: str
) -> None:
    spec = minimal / "pipeline.yaml"
    text = spec.read_text()
    extra = f"  - name: {added}\n    run: make test\n"
    spec.write_text(text.replace(TEST_CHECK, extra + TEST_CHECK))
    code, _, err = run("validate", str(spec))
    assert code == 1 and message in err


def test_environment_names_that_differ_only_in_case_are_refused(minimal: Path) -> None:
    spec = minimal / "pipeline.yaml"
    text = spec.read_text()
    extra = "  - name: Prod\n    cluster: c\n    namespace: n\n"
    spec.write_text(text + extra)
    code, _, err = run("validate", str(spec))
    assert code == 1 and "environment name 'Prod' is used twice" in err

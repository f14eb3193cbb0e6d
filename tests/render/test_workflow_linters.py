"""Every generated workflow, for every example and test spec, passes the field's own linters
with zero findings: actionlint (with shellcheck), zizmor (auditor persona), SchemaStore's
github-workflow schema (check-jsonschema) and checkov. Each tool runs once over all outputs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOOLS = ROOT / ".venv-tools" / "bin"


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{name} is missing: run ./scripts/test, which installs the linters")
    return str(path)


def workflows(compiled: dict[str, Path]) -> list[str]:
    found = sorted(str(p) for root in compiled.values() for p in root.glob(".github/workflows/*"))
    assert len(found) >= 2 * len(compiled)
    return found


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)


def test_actionlint_with_shellcheck(compiled: dict[str, Path]) -> None:
    result = run(tool("actionlint"), "-shellcheck", tool("shellcheck"), *workflows(compiled))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_auditor(compiled: dict[str, Path]) -> None:
    result = run(
        tool("zizmor"),
        "--offline",
        "--persona=auditor",
        "--format=plain",
        *[str(root) for root in compiled.values()],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_github_workflow_schema(compiled: dict[str, Path]) -> None:
    result = run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *workflows(compiled),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov(compiled: dict[str, Path]) -> None:
    parent = next(iter(compiled.values())).parent
    result = run(
        tool("checkov"),
        "--framework",
        "github_actions",
        "--directory",
        str(parent),
        "--skip-download",
        "--output",
        "json",
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [check for report in reports for check in report["results"]["failed_checks"]]
    passed = sum(report["summary"]["passed"] for report in reports)
    assert failed == [], json.dumps(failed, indent=2)
    assert passed > 0
    scanned = {
        Path(c["file_path"]).parts[1] for r in reports for c in r["results"]["passed_checks"]
    }
    assert scanned == set(compiled), "checkov did not read every compiled spec"

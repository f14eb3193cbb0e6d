"""The render stage: a pure function from a validated spec to the generated files.

`render(spec, source)` returns `{repository-relative path: text}`; it reads no files, clock or
environment, so the same spec and pipelinegen version always give the same bytes. The CLI
writes the result (see pipelinegen.output).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelinegen import naming, record
from pipelinegen.render import patches
from pipelinegen.render.cdk import cdk_app
from pipelinegen.render.diagram import diagram_document
from pipelinegen.render.github.ci import ci_workflow
from pipelinegen.render.github.install import chart_requirements, requirements
from pipelinegen.render.github.pr import pr_workflow
from pipelinegen.render.github.release import release_plan, release_workflow
from pipelinegen.render.header import GENERATED_BY, comment_header, with_header
from pipelinegen.resources import data_dir, schema_path
from pipelinegen.spec.models import Spec


@dataclass(frozen=True)
class Source:
    """The spec as written: its path relative to the output root, and its text."""

    path: str
    text: str

    @property
    def sha256(self) -> str:
        return record.digest(self.text)


def render(spec: Spec, source: Source) -> dict[str, str]:
    """Every generated file, with the spec's `patches:` applied, plus the record of them (which
    a later compile reads). Raises PatchError for a patch that does not apply (the spec's load
    reports those first, located: pipelinegen.render.patches.check)."""
    files = generated(spec, source)
    if spec.patches:
        files = patches.apply(files, spec.patches)
    files[naming.RECORD] = record.compose(
        files, spec=source.path, spec_sha256=source.sha256, generated_by=GENERATED_BY
    )
    return dict(sorted(files.items()))


def generated(spec: Spec, source: Source) -> dict[str, str]:
    """Every generated file as pipelinegen writes it, before patches and the record."""
    header = comment_header(source.path)
    files = {
        naming.CI_WORKFLOW: ci_workflow(spec, header=header, spec_path=source.path),
        naming.RELEASE_WORKFLOW: release_workflow(
            spec, header=header, spec_path=source.path, spec_sha256=source.sha256
        ),
        naming.PR_WORKFLOW: pr_workflow(spec, header=header, spec_path=source.path),
        naming.RELEASE_PLAN: release_plan(
            spec, spec_sha256=source.sha256, generated_by=GENERATED_BY
        ),
        naming.INSTALL_REQUIREMENTS: with_header(requirements(spec), source.path),
        naming.CHART_REQUIREMENTS: with_header(chart_requirements(), source.path),
        naming.PACKAGE_SCRIPT: with_header(_static("scripts/package-release.py"), source.path),
        naming.RELEASE_GATE_SCRIPT: with_header(_static("scripts/release-gate.sh"), source.path),
        naming.CHECK_RUNS_SCRIPT: with_header(_static("scripts/check-runs.py"), source.path),
        naming.IMAGE_ARCHIVE_SCRIPT: with_header(_static("scripts/image-archive.py"), source.path),
        naming.SCHEMA_COPY: schema_path().read_text(encoding="utf-8"),
        naming.DIAGRAM: diagram_document(spec, spec_path=source.path),
        naming.CDK_GITIGNORE: f"{header}\ncdk.out/\n",
    }
    files.update(cdk_app(spec, spec_path=source.path, spec_sha256=source.sha256))
    return files


def _static(name: str) -> str:
    return (data_dir("templates") / name).read_text(encoding="utf-8")

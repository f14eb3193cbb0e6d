"""The release data path of every synthesized pipeline, counted by the data-path benchmark's own
reader (benchmarks/datapath.py): which actions download the images, and how long the pipeline's
artifact bucket keeps its copies (docs/data-path.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.render.conftest import delivery, spec_texts

sys.path.insert(0, str(ROOT / "benchmarks"))

import datapath

PIPELINE_SPECS = [name for name, text in spec_texts().items() if delivery(text) == "aws"]


def _figures(assembly: Path) -> datapath.Figures:
    figures = datapath.Figures("spec", 0, 0)
    pipeline = json.loads((assembly.parent / "deploy/cdk/pipeline.json").read_text())
    datapath.pipeline_figures(assembly, figures, pipeline["release"]["images_key"])
    return figures


@pytest.mark.parametrize("name", PIPELINE_SPECS)
def test_only_the_actions_that_read_images_download_them(
    synthesized: dict[str, Path], name: str
) -> None:
    """Only push and Marketplace take the images; neither the synth nor any environment's Helm
    action does, however many environments there are (it was 2 + E + 1 downloads per release).
    """
    template = datapath._pipeline_template(synthesized[name])
    stages = next(
        r["Properties"]["Stages"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    )
    marketplace = any(stage["Name"] == "Marketplace" for stage in stages)
    downloads = _figures(synthesized[name]).downloads_pipeline
    expected = ["Release/Push"]
    assert downloads == expected + (["Marketplace/Publish"] if marketplace else [])
    helm = [a for s in stages for a in s["Actions"] if a["Name"] == "Helm"]
    assert helm and all(
        [i["Name"] for i in a["InputArtifacts"]] == ["Release", "Tools"] for a in helm
    )


@pytest.mark.parametrize("name", PIPELINE_SPECS)
def test_the_artifact_bucket_expires_its_copies(synthesized: dict[str, Path], name: str) -> None:
    resources = datapath._pipeline_template(synthesized[name])["Resources"]
    assert datapath._artifact_bucket_expiry(resources) == "30 days"


def test_a_buildspec_section_that_leaves_images_out_carries_none() -> None:
    spec = json.loads(json.dumps({"artifacts": {"files": ["**/*"]}}))
    assert datapath._section_carries(spec, "Out", 1)
    spec["artifacts"]["exclude-paths"] = ["images/**/*"]
    assert not datapath._section_carries(spec, "Out", 1)
    tools = {"artifacts": {"secondary-artifacts": {"Tools": {"base-directory": "tools"}}}}
    assert not datapath._section_carries(tools, "Tools", 2)

"""Charts as real teams write them (repos/: an umbrella with aliases and list sidecars, a
Bitnami-style chart with a vendored remote dependency, a strict chart with schema-only keys, one
tag shared by every service, an operator with webhook and certController image blocks): each
validates as a user maps it and deploys with the real deploy.sh and Helm 4; each way of mapping it
wrong fails `validate`, at the spec line, with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pipelinegen.errors import Diagnostic, SpecError
from pipelinegen.spec.load import load
from pipelinegen.spec.repository import WorkingTree
from tests.cdk.conftest import digest_of
from tests.chart.test_deploy import HELM, REPOS, VERSION, deploy, release_of

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")
REGISTRY = "111111111111.dkr.ecr.us-east-1.amazonaws.com"


def problems(repo: Path, text: str | None = None) -> list[Diagnostic]:
    """validate's errors for the repository's spec (or `text` in its place)."""
    text = text if text is not None else (repo / "pipeline.yaml").read_text()
    try:
        load(text, file="pipeline.yaml", repository=WorkingTree(repo))
    except SpecError as error:
        return error.diagnostics
    return []


def deployed(
    style: str, tmp_path: Path, environment: int = 0, *, build: bool = True
) -> list[dict[str, Any]]:
    """The objects deploy.sh renders for the style's `environment`-th environment."""
    import shutil

    repo = tmp_path / style
    shutil.copytree(REPOS / style, repo)
    root, spec = release_of(repo, tmp_path, build=build)
    if environment:
        spec = spec.model_copy(
            update={"environments": [spec.environments[environment], *spec.environments]}
        )
    result = deploy(root, spec, tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "rendered.yaml").read_text()
    return [doc for doc in YAML(typ="safe").load_all(rendered) if isinstance(doc, dict)]


def containers(objects: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    names = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    assert name in names, sorted(names)
    return list(names[name]["spec"]["template"]["spec"]["containers"])


def pinned(image: str, *, tag: str = "", project: str = "platform") -> str:
    return f"{REGISTRY}/{project}/{image}{tag}@{digest_of(image)}"


def images(objects: list[dict[str, Any]]) -> list[str]:
    found = []
    for o in objects:
        pod = o.get("spec", {}).get("template", {}).get("spec", {})
        found += [c["image"] for f in ("initContainers", "containers") for c in pod.get(f) or []]
    return found


# --- an umbrella with aliases and list sidecars ---------------------------------------------------


def test_list_sidecars_keep_their_other_keys_and_the_environments_list(tmp_path: Path) -> None:
    """`orders.sidecars[0].image` sets that element of the list Helm would use: staging's own
    list (its `--verbose`), not the chart's; billing's two sidecars keep their names and args."""
    objects = deployed("sidecars", tmp_path)
    orders = containers(objects, "platform-orders-orders")
    assert orders[1] == {
        "name": "log-shipper",
        "image": pinned("logship", tag=f":{VERSION}"),
        "args": ["--config", "/etc/fluent-bit/fluent-bit.conf", "--verbose"],
    }
    billing = containers(objects, "platform-billing-billing")
    assert [(c["name"], c["image"], c["args"][-1]) for c in billing[1:]] == [
        ("log-shipper", pinned("logship", tag=f":{VERSION}"), "/etc/fluent-bit/fluent-bit.conf"),
        ("audit-shipper", pinned("logship", tag=f":{VERSION}"), "/etc/fluent-bit/audit.conf"),
    ]


def test_a_list_element_the_chart_does_not_have_is_refused(tmp_path: Path) -> None:
    repo = REPOS / "sidecars"
    text = (repo / "pipeline.yaml").read_text().replace("sidecars[1]", "sidecars[2]")
    left, problem = problems(repo, text)
    assert "'billing.sidecars[1].image'" in left.message  # now mapped by nothing
    assert (problem.line, problem.column) == (19, 21)
    assert problem.message == (
        "values path 'billing.sidecars[2].image' names element 2 of 'billing.sidecars', where "
        "the chart's values.yaml has a list of 2"
    )


def test_an_element_left_on_the_upstream_image_is_named_with_its_mapping() -> None:
    repo = REPOS / "sidecars"
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace('      - {reference: "billing.sidecars[1].image"}\n', "")
    )
    (problem,) = problems(repo, text)
    assert problem.message.startswith(
        "image 'logship' is mapped, but the chart also reads it at 'billing.sidecars[1].image' "
        "(docker.io/fluent/fluent-bit:3.0), which no image maps"
    )
    assert problem.hint.startswith("add {reference: billing.sidecars[1].image} to the image's")


# --- a Bitnami-style chart with a vendored remote dependency --------------------------------------


def test_a_bitnami_chart_with_a_vendored_remote_dependency_deploys_pinned(tmp_path: Path) -> None:
    """The `common` library chart comes from an OCI repository, vendored as a .tgz with its
    Chart.lock: the release renders it as is, nothing fetched; each Bitnami block gets the
    registry, the repository and the digest (which Bitnami's helper puts after '@')."""
    objects = deployed("ledger", tmp_path, build=False)
    assert sorted(images(objects)) == sorted(
        [pinned("ledger", project="ledger"), pinned("ledger-exporter", project="ledger")]
    )


def test_the_short_form_on_a_bitnami_block_is_refused_with_the_split() -> None:
    """`values: image` would set `image.repository` to the whole ECR repository, behind the
    chart's `image.registry` (docker.io/<ECR host>/...)."""
    repo = REPOS / "ledger"
    text = (repo / "pipeline.yaml").read_text().replace(
        "      - {registry: image.registry, repository: image.repository, digest: image.digest}",
        "      - image",
    )
    (problem,) = problems(repo, text)
    assert problem.message == (
        "image 'ledger': 'image.repository' receives the whole repository, but the chart puts "
        "'image.registry' (docker.io) before it"
    )
    assert problem.hint.startswith(
        "map the Bitnami split: {registry: image.registry, repository: image.repository, "
        "digest: image.digest}"
    )

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
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace(
            "      - {registry: image.registry, repository: image.repository, "
            "digest: image.digest}",
            "      - image",
        )
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


# --- a strict chart with schema-only keys --------------------------------------------------------


def test_a_key_only_the_schema_declares_is_a_values_path() -> None:
    assert problems(REPOS / "strict") == []


def test_an_unmapped_schema_only_block_is_named_in_its_shape() -> None:
    repo = REPOS / "strict"
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace("    values:\n      - {reference: components.worker.imageOverride}\n", "")
    )
    (problem,) = problems(repo, text)
    assert problem.message.startswith(
        "image 'worker' is mapped to no values path, but the chart reads it at "
        "'components.worker.imageOverride'"
    )
    assert problem.hint.startswith("add `values: {reference: components.worker.imageOverride}`")


def test_a_misspelt_schema_key_is_refused_with_the_schema_key_suggested() -> None:
    repo = REPOS / "strict"
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace("components.api.imageOverride", "components.api.imageOveride")
    )
    messages = {(p.message, p.hint) for p in problems(repo, text)}
    assert (
        "image 'api': the chart defines no values path 'components.api.imageOveride'",
        "did you mean 'components.api.imageOverride'?",
    ) in {(m, h.split(" or ")[0] + ("?" if " or " in h else "")) for m, h in messages}


# --- one tag for every service -------------------------------------------------------------------


def test_one_tag_beside_a_digest_per_service_is_the_release_version(tmp_path: Path) -> None:
    objects = deployed("onetag", tmp_path)
    assert sorted(images(objects)) == sorted(
        pinned(name, tag=f":{VERSION}", project="market") for name in ("api", "jobs", "web")
    )


def test_one_tag_without_digests_fails_validate_with_the_alternative() -> None:
    repo = REPOS / "onetag"
    text = (repo / "pipeline.yaml").read_text()
    for name in ("api", "web", "jobs"):
        text = text.replace(f", digest: services.{name}.digest}}", "}")
    (problem,) = problems(repo, text)
    assert problem.message == (
        "values path 'images.tag' is set by images 'api', 'jobs', 'web' as `tag`: one path "
        "holds one value, so all but one image would run another's tag or digest"
    )
    assert "map `tag: images.tag` beside a `digest` path per image" in problem.hint


# --- an operator: webhook and certController image blocks -----------------------------------------


def test_every_block_of_the_operator_runs_the_released_image(tmp_path: Path) -> None:
    objects = deployed("operator", tmp_path)
    released = pinned("vaultsync", tag=f":{VERSION}", project="vaultsync")
    assert images(objects) == [released] * 3
    (controller,) = [
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "vaultsync-vaultsync"
    ]
    container = controller["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == [f"--sync-image={released}"]


def test_mapping_only_the_controller_names_the_blocks_left_upstream() -> None:
    repo = REPOS / "operator"
    text = "".join(
        line
        for line in (repo / "pipeline.yaml").read_text().splitlines(keepends=True)
        if not line.startswith(("      - webhook", "      - cert", "      - {reference"))
    )
    (problem,) = problems(repo, text)
    assert problem.message == (
        "image 'vaultsync' is mapped, but the chart also reads it at 'certController.image' "
        "(ghcr.io/acme/vaultsync), 'syncImage' (ghcr.io/acme/vaultsync:v0.14.2), "
        "'webhook.image' (ghcr.io/acme/vaultsync), which no image maps: those pods would run "
        "the chart's default image, not the one released"
    )
    assert problem.hint.startswith(
        "add [certController.image, {reference: syncImage}, webhook.image] to the image's "
        "`values` list"
    )


# --- init's starter names every image block in its shape ------------------------------------------


def test_init_maps_each_image_block_in_its_shape_and_names_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Bitnami block gets the split (registry, repository, digest), not `values: image`;
    blocks no Dockerfile is named after are listed, each as the item that would map it."""
    import shutil
    import subprocess

    from click.testing import CliRunner

    from pipelinegen.cli import cli

    repo = tmp_path / "ledger"
    shutil.copytree(REPOS / "ledger", repo)
    (repo / "pipeline.yaml").unlink()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = (repo / "pipeline.yaml").read_text()
    assert (
        "  #   - {registry: metrics.image.registry, repository: metrics.image.repository, "
        "digest: metrics.image.digest}\n"
    ) in text
    starter = YAML(typ="safe").load(text)
    (ledger,) = [image for image in starter["images"] if image["name"] == "ledger"]
    assert ledger["values"] == [
        {"registry": "image.registry", "repository": "image.repository", "digest": "image.digest"}
    ]


# --- the list semantics of the values file (image_values.py) --------------------------------------


def _image_values() -> Any:
    import importlib.util
    import sys

    from tests.cdk.conftest import SCRIPTS

    sys.path.insert(0, str(SCRIPTS))  # its siblings: release.py, chart_check.py
    try:
        spec = importlib.util.spec_from_file_location("image_values", SCRIPTS / "image_values.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


def test_a_list_element_is_set_in_the_list_helm_would_use(tmp_path: Path) -> None:
    """The environment's list wins over the chart's (Helm replaces lists whole); a subchart's
    list is found under its alias; an index past the list's end is refused."""
    iv = _image_values()
    chart = tmp_path / "chart"
    (chart / "charts" / "worker").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: app\nversion: 1.0.0\n"
        "dependencies:\n  - name: worker\n    version: 1.x\n    alias: jobs\n"
    )
    (chart / "charts" / "worker" / "Chart.yaml").write_text("apiVersion: v2\nname: worker\n")
    (chart / "charts" / "worker" / "values.yaml").write_text(
        "sidecars:\n  - {name: log, image: fluent-bit, args: [-v]}\n"
        "  - {name: proxy, image: envoy}\n"
    )
    staging = tmp_path / "staging.yaml"
    staging.write_text("jobs:\n  sidecars:\n    - {name: log, image: fluent-bit, args: [-vv]}\n")

    def read(text: str) -> list[dict[str, Any]]:
        return [d for d in YAML(typ="safe").load_all(text) if d is not None]

    base = iv.effective_values(chart, [], read)
    values: dict[str, Any] = {}
    iv.put(values, "jobs.sidecars[1].image", "ECR/proxy", base)
    assert values == {
        "jobs": {
            "sidecars": [
                {"name": "log", "image": "fluent-bit", "args": ["-v"]},
                {"name": "proxy", "image": "ECR/proxy"},
            ]
        }
    }
    base = iv.effective_values(chart, [staging], read)
    values = {}
    iv.put(values, "jobs.sidecars[0].image", "ECR/log", base)
    assert values == {"jobs": {"sidecars": [{"name": "log", "image": "ECR/log", "args": ["-vv"]}]}}
    with pytest.raises(iv.ValuesError, match="the list has no element 1"):
        iv.put(values, "jobs.sidecars[1].image", "ECR/proxy", base)


def test_blocks_are_found_in_every_shape_real_charts_use() -> None:
    """cert-manager names an image in `name` beside an empty `repository`; Bitnami adds
    `registry` and `digest`; operators read `*Image` strings; lists hold blocks too."""
    from pipelinegen.chart.blocks import blocks
    from pipelinegen.chart.read import Chart

    values = {
        "imageRegistry": "quay.io",
        "image": {"name": "cert-manager-controller", "repository": "", "pullPolicy": "Always"},
        "webhook": {"image": {"name": "cert-manager-webhook", "repository": ""}},
        "metrics": {"image": {"registry": "docker.io", "repository": "acme/exporter", "tag": "1"}},
        "syncImage": "ghcr.io/acme/sync:1.0",
        "imageOverride": "",
        "imagePullPolicy": "IfNotPresent",  # not an image
        "sidecars": [{"name": "log", "image": "fluent/fluent-bit:3.0"}],
    }
    chart = Chart("c", "c", "v2", values, None, [], None)
    found = {(b.path, b.shape, b.repository) for b in blocks(chart)}
    assert found == {
        ("image", "split", "cert-manager-controller"),
        ("webhook.image", "split", "cert-manager-webhook"),
        ("metrics.image", "registry", "docker.io/acme/exporter"),
        ("syncImage", "reference", "ghcr.io/acme/sync:1.0"),
        ("imageOverride", "reference", ""),
        ("sidecars[0].image", "reference", "fluent/fluent-bit:3.0"),
    }

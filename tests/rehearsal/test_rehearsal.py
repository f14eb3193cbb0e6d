"""The release rehearsed with real parts: every example and synthetic umbrella charts, from a tag
to rendered pods and the Marketplace request, and each way a hop can break."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.oci import REF_NAME
from tests.rehearsal.charts import umbrella
from tests.rehearsal.checkout import prepare
from tests.rehearsal.rehearsal import HELM, NODE_TOOLS, TOOLS_VENV, Run, World, pod_images
from tests.rehearsal.report import digest_problems, registry_hosts

pytestmark = pytest.mark.rehearsal

# The examples the pipeline delivers (`delivery: aws`); the one the release workflow's own jobs
# deliver (`delivery: github`) is rehearsed by its own test below, through those jobs.
GITHUB_EXAMPLES = [
    e for e in EXAMPLES if "\ndelivery: github\n" in (e / "pipeline.yaml").read_text()
]
PIPELINE_EXAMPLES = [e for e in EXAMPLES if e not in GITHUB_EXAMPLES]

TOOLS = ("buildah", "skopeo", "docker-registry", "unshare", "nsenter", "openssl", "curl")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not (TOOLS_VENV / "bin" / "moto_server").exists():
        missing.append(".venv-rehearsal (moto[server], awscli)")
    if not HELM.exists():
        missing.append("tests/helm/bin/helm")
    if not (NODE_TOOLS / ".bin" / "cdk").exists():
        missing.append("tests/tools/node_modules (cdk)")
    if missing or os.geteuid() != 0:
        pytest.fail(f"the rehearsal needs root and {', '.join(missing)}: run scripts/test")
    root = tmp_path_factory.mktemp("rehearsal")
    sources = [umbrella(root / "sources" / "umbrella")]
    checkouts = [prepare(source, root / "checkouts" / source.name) for source in sources]
    checkouts += [prepare(example, root / "examples" / example.name) for example in EXAMPLES]
    found = World(root / "world")
    try:
        found.open(registry_hosts(checkouts))
        found.seed_upstream(checkouts)
        yield found
    finally:
        found.close()


@pytest.fixture(scope="module")
def checkout(world: World) -> Path:
    return world.root.parent / "checkouts" / "umbrella"


@pytest.fixture(scope="module")
def first(world: World, checkout: Path) -> Run:
    """The first release of the umbrella repository."""
    return world.release(checkout, world.deploy(checkout), "v1.0.0")


def pods(world: World, checkout: Path, environment: str) -> str:
    deployed = world.deploy(checkout)
    spec = next(e for e in deployed.spec["environments"] if e["name"] == environment)
    return world.rendered(deployed, spec)


def test_a_release_carries_each_digest_to_every_pod_and_to_marketplace(
    world: World, checkout: Path, first: Run
) -> None:
    assert first.succeeded, first.failure
    assert digest_problems(first) == []
    stages = [stage.name for stage in world.deploy(checkout).codepipeline.stages]
    assert [s.name for s in first.stages] == ["build", *stages]
    assert all(s.status == "Succeeded" for s in first.stages)
    for name, hops in first.digests.items():
        assert set(hops) == {
            "archive",
            "manifest",
            "registry",
            "pods:dev",
            "pods:staging",
            "pods:prod",
            "marketplace",
        }, name
        assert len(set(hops.values())) == 1, hops
    jobs = first.pods["dev"]["jobs"]
    assert len(jobs) == 2  # the CronJob's init container and container
    starts = [r for r in world.catalog_requests() if r["operation"] == "StartChangeSet"]
    assert starts and all(r["errors"] == [] for r in starts)


def test_releasing_the_same_tag_again_pushes_nothing_and_deploys_the_same_digests(
    world: World, checkout: Path, first: Run
) -> None:
    before = world.pushes()
    again = world.release(checkout, world.deploy(checkout), "v1.0.0")
    assert again.succeeded, again.failure
    assert world.pushes() == before
    images = len(first.digests)  # api, jobs and the third-party cache sidecar
    assert f"0 image(s) pushed, {images} already in ECR" in again.stage("Release").output
    assert again.digests == first.digests


Change = Callable[[str, bytes, dict[str, bytes]], bytes]


def rewrite(path: Path, change: Change) -> None:
    """Rewrite the zip at `path`, each entry through `change(name, data, all entries)`."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        entries = {info.filename: archive.read(info) for info in infos}
    with zipfile.ZipFile(path, "w") as archive:
        for info in infos:
            archive.writestr(info, change(info.filename, entries[info.filename], entries))


def edit_manifest(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def change(name: str, data: bytes, entries: dict[str, bytes]) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        edit(manifest)
        return json.dumps(manifest).encode()

    return lambda path: rewrite(path, change)


def swap_image(path: Path) -> None:
    """In the release's images, the name `api` given to the jobs image."""

    def change(name: str, data: bytes, entries: dict[str, bytes]) -> bytes:
        if name != "index.json":
            return data
        index = json.loads(data)
        named = {m["annotations"][REF_NAME]: m for m in index["manifests"]}
        named["api"]["digest"], named["api"]["size"] = (
            named["jobs"]["digest"],
            named["jobs"]["size"],
        )
        return json.dumps(index).encode()

    rewrite(path.with_name("release.images.zip"), change)


def digest_of_another_image(manifest: dict[str, Any]) -> None:
    manifest["images"][0]["digest"] = manifest["images"][1]["digest"]


def spec_hash_zeroed(manifest: dict[str, Any]) -> None:
    manifest["spec_sha256"] = "0" * 64


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (swap_image, "they are not this release's images"),
        (edit_manifest(digest_of_another_image), "they are not this release's images"),
        (edit_manifest(spec_hash_zeroed), "was built from a spec with sha256 0000"),
    ],
    ids=["image-swapped", "manifest-edited", "spec-hash-wrong"],
)
def test_a_tampered_zip_stops_before_anything_is_pushed(
    world: World, checkout: Path, first: Run, tamper: Callable[[Path], None], message: str
) -> None:
    before = world.pushes()
    run = world.release(checkout, world.deploy(checkout), "v1.1.0", tamper=tamper)
    assert run.failure is not None
    assert run.failure.hop == "Release/Push"
    assert message in run.failure.message
    assert world.pushes() == before
    assert [s.status for s in run.stages if s.name.startswith("Deploy")] == ["Skipped"] * 3


def test_a_failing_environment_leaves_the_earlier_ones_deployed_and_the_later_untouched(
    world: World, checkout: Path, first: Run
) -> None:
    before = {env: pods(world, checkout, env) for env in ("dev", "staging", "prod")}
    api = checkout / "services" / "api" / ".rehearsal-api"
    values = checkout / "deploy" / "values-staging.yaml"
    saved = api.read_text(), values.read_text()
    api.write_text("api, second release\n")
    values.write_text("replicas: 0\n")  # the chart's values schema says at least 1
    try:
        run = world.release(checkout, world.deploy(checkout), "v2.0.0")
    finally:
        api.write_text(saved[0])
        values.write_text(saved[1])
    assert run.failure is not None
    assert run.failure.hop == "Deploy-staging/Helm"
    assert [s.status for s in run.stages[-3:]] == ["Failed", "Skipped", "Skipped"]
    new = run.digests["api"]["registry"]
    assert new != first.digests["api"]["registry"]
    assert new in pods(world, checkout, "dev")
    assert pods(world, checkout, "staging") == before["staging"]
    assert pods(world, checkout, "prod") == before["prod"]


def test_a_chart_that_reads_the_image_elsewhere_is_refused_by_compile_naming_the_block(
    tmp_path: Path,
) -> None:
    """The chart's `image` block holds the api image's upstream, and the spec maps `images.api`
    only: compile refuses it in the pull request, naming the block, before any release."""
    source = tmp_path / "source"
    with pytest.raises(RuntimeError, match="pipelinegen compile failed") as raised:
        umbrella(source, image_path="bitnami")
    assert (
        "image 'api' is mapped, but the chart also reads it at 'image' (docker.io/bitnami/api), "
        "which no image maps: those pods would run the chart's default image"
    ) in str(raised.value)
    assert (
        "hint: add {registry: image.registry, repository: image.repository, tag: image.tag} to "
        "the image's `values` list"
    ) in str(raised.value)
    assert not (source / ".github").exists()  # nothing written


def test_a_chart_that_reads_the_image_from_an_unrelated_block_fails_at_the_deploys_chart_check(
    world: World, tmp_path: Path, first: Run
) -> None:
    """A block nothing ties to the api image (`bitnami/nginx`, not the spec's image's name nor
    a mapped block's upstream): compile's value checks pass it, and only a render shows the pods
    run nginx (the pull request's `chart` job renders; the rehearsal runs the release). The
    deploy's chart check renders as the cluster would and refuses it before `helm upgrade`. No
    variant of this kind reaches the pods hop: the cluster stand-in applies the same `helm
    template` render the chart check has read, so a pod without the released digest is refused
    there first; the pods hop stays as the check of what the cluster ran."""
    source = umbrella(tmp_path / "source", image_path="unrelated")
    checkout = prepare(source, tmp_path / "checkout")
    run = world.release(checkout, world.deploy(checkout), "v3.0.0")
    assert run.failure is not None
    assert run.failure.hop == "Deploy-dev/Helm"
    assert "the chart check refused the release for dev" in run.failure.message
    assert (
        "containers 'api': runs 'docker.io/bitnami/nginx:1', which is not pinned by digest"
        in run.stage("Deploy-dev").output
    )
    assert [s.status for s in run.stages if s.name.startswith("Deploy")] == ["Failed"] + [
        "Skipped"
    ] * 2
    assert "bitnami/nginx" not in pods(world, checkout, "dev")


def test_a_dependency_left_out_of_the_release_fails_at_the_first_deploy(
    world: World, tmp_path: Path, first: Run
) -> None:
    source = umbrella(tmp_path / "source", outside_dependency=True)
    checkout = prepare(source, tmp_path / "checkout")
    run = world.release(checkout, world.deploy(checkout), "v4.0.0")
    assert run.failure is not None
    assert run.failure.hop == "Deploy-dev/Helm"
    assert "dependency" in run.failure.message


def test_a_push_that_may_rewrite_manifests_fails_at_the_push_hop_naming_both_digests(
    world: World, checkout: Path, tmp_path: Path, first: Run
) -> None:
    """The push script without `--preserve-digests`: skopeo compresses the api archive's
    uncompressed layers on the way to the registry, so the registry holds another index."""
    changed = prepare(checkout, tmp_path / "checkout")
    (changed / "services" / "api" / ".rehearsal-api").write_text("api, new layer\n")
    lib = changed / "deploy" / "cdk" / "scripts" / "lib.sh"
    flag = "copy --all --preserve-digests "
    assert lib.read_text().count(flag) == 1
    lib.write_text(lib.read_text().replace(flag, "copy --all "))
    run = world.release(changed, world.deploy(checkout), "v5.0.0")
    assert run.failure is not None
    assert run.failure.hop == "Release/Push"
    built, pushed = run.digests["api"]["archive"], run.digests["api"]["registry"]
    assert pushed.startswith("sha256:") and pushed != built
    assert f"as '{pushed}', but the release says {built}" in run.failure.message
    assert [s.status for s in run.stages if s.name.startswith("Deploy")] == ["Skipped"] * 3


def test_the_catalog_stand_in_rejects_a_details_document_aws_does_not_document(
    world: World, tmp_path: Path
) -> None:
    change_set = [
        {
            "ChangeType": "AddDeliveryOptions",
            "Entity": {"Type": "ContainerProduct@1.0", "Identifier": "prod-abc"},
            "DetailsDocument": {
                "Version": {"VersionTitle": "v1", "ReleaseNotes": "r"},
                "DeliveryOptions": [{"DeliveryOptionTitle": "t", "Details": {"Ecr": {}}}],
            },
        }
    ]
    path = tmp_path / "changeset.json"
    path.write_text(json.dumps(change_set))
    with pytest.raises(RuntimeError, match="ValidationException") as raised:
        world.aws(
            [
                "marketplace-catalog",
                "start-change-set",
                "--catalog",
                "AWSMarketplace",
                "--change-set",
                f"file://{path}",
                "--endpoint-url",
                "http://127.0.0.1:5002",
            ]
        )
    assert "Additional properties are not allowed ('Ecr' was unexpected)" in str(raised.value)


def test_the_full_example_publishes_its_chart_with_marketplace_images_by_digest(
    world: World,
) -> None:
    """Both delivery options in one change set; the chart is in the Marketplace registry at the
    HelmChartUri the request names, and renders only the seller's images, pinned by the digests
    the archives hold."""
    checkout = world.root.parent / "examples" / "full"
    run = world.release(checkout, world.deploy(checkout), "v1.1.0")
    assert run.succeeded, run.failure
    marketplace = "709825985650.dkr.ecr.us-east-1.amazonaws.com"
    chart_uri = f"{marketplace}/acme/platform:v1.1.0"
    [request] = [
        r
        for r in world.catalog_requests()
        if r["operation"] == "StartChangeSet" and chart_uri in r["images"]
    ]
    assert request["errors"] == []
    options = request["params"]["ChangeSet"][0]["DetailsDocument"]["DeliveryOptions"]
    assert [next(iter(option["Details"])) for option in options] == [
        "EcrDeliveryOptionDetails",
        "HelmDeliveryOptionDetails",
    ]
    helm = options[1]["Details"]["HelmDeliveryOptionDetails"]
    assert helm["HelmChartUri"] == chart_uri
    assert request["images"][chart_uri] == world.registry_digest(chart_uri)
    assert f"{chart_uri} holds the chart as {request['images'][chart_uri]}" in (
        run.stage("Marketplace").output
    )
    rendered = world.published_chart(chart_uri)
    images = sorted(set(pod_images(rendered)))
    assert images == sorted(
        f"{marketplace}/acme/{name}:v1.1.0@{hops['archive']}"
        if name != "worker"  # Bitnami style: registry/repository@digest, no tag
        else f"{marketplace}/acme/{name}@{hops['archive']}"
        for name, hops in run.digests.items()
    )


def test_the_full_examples_cdk_hook_ships_and_runs_in_the_pipelines_synth(world: World) -> None:
    """examples/full/deploy/cdk/extend.py (the team's, never generated) rides in the release's
    cdk/ folder, and the UpdatePipeline action's `cdk synth` of that folder runs it: the alarm it
    adds is in the synthesized pipeline stack."""
    checkout = world.root.parent / "examples" / "full"
    run = world.release(checkout, world.deploy(checkout), "v1.0.2")
    assert run.succeeded, run.failure
    assembly = world.synth(checkout / "deploy" / "cdk")
    [template] = assembly.glob("*-pipeline.template.json")
    resources = json.loads(template.read_text())["Resources"]
    assert [
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and lid.startswith("FailedReleases")
    ]


@pytest.mark.parametrize("example", [path.name for path in PIPELINE_EXAMPLES])
def test_every_example_releases_each_image_to_its_pods(world: World, example: str) -> None:
    checkout = world.root.parent / "examples" / example
    run = world.release(checkout, world.deploy(checkout), "v1.0.0")
    assert run.succeeded, run.failure
    assert digest_problems(run) == []


@pytest.mark.parametrize("example", [path.name for path in GITHUB_EXAMPLES])
def test_the_release_workflow_delivers_each_digest_to_every_pod_and_to_marketplace(
    world: World, example: str
) -> None:
    """`delivery: github`: after the same packaging, the workflow's `push` job and each
    `deploy-<env>` job in order (the publishing one then to Marketplace), every step from the
    generated workflow. The tag is this test's own: the full example shares the project's ECR
    repositories and Marketplace listing, whose tags are immutable."""
    checkout = world.root.parent / "examples" / example
    deployed = world.deploy(checkout)
    run = world.release(checkout, deployed, "v1.5.0")
    assert run.succeeded, run.failure
    environments = [e["name"] for e in deployed.spec["environments"]]
    assert [s.name for s in run.stages] == [
        "build",
        "push",
        *(f"deploy-{name}" for name in environments),
    ]
    assert all(s.status == "Succeeded" for s in run.stages)
    for name in environments:  # the job's OIDC role is the one deploy.sh expects
        assert "already running as arn:aws:iam::" in run.stage(f"deploy-{name}").output
    for environment in deployed.spec["environments"]:  # approvals GitHub enforces, read first
        said = f"GitHub environment '{environment['name']}' requires a review by one of"
        output = run.stage(f"deploy-{environment['name']}").output
        assert (said in output) == environment["approval"], output[:2000]
    assert f"{len(run.digests)} image(s) pushed, 0 already in ECR" in run.stage("push").output
    assert digest_problems(run) == []
    for name, hops in run.digests.items():
        assert set(hops) == {
            "archive",
            "manifest",
            "registry",
            *(f"pods:{environment}" for environment in environments),
            "marketplace",
        }, name
        assert len(set(hops.values())) == 1, hops
    starts = [
        r
        for r in world.catalog_requests()
        if r["operation"] == "StartChangeSet" and any(i.endswith(":v1.5.0") for i in r["images"])
    ]
    assert len(starts) == 1 and starts[0]["errors"] == []


def test_a_workflow_role_the_app_does_not_create_fails_before_any_push(
    world: World, tmp_path: Path
) -> None:
    """The two halves must agree on the roles: a `role-to-assume` the CDK app creates no
    role for stops the `push` job at its credentials step."""
    [example] = GITHUB_EXAMPLES
    original = world.root.parent / "examples" / example.name
    checkout = prepare(original, tmp_path / "checkout")
    path = checkout / ".github" / "workflows" / "pipelinegen-release.yml"
    role = "role/acme-platform-release-push\n"
    assert path.read_text().count(role) == 1
    path.write_text(path.read_text().replace(role, "role/acme-platform-push\n"))
    before = world.pushes()
    run = world.release(checkout, world.deploy(original), "v1.6.0")
    assert run.failure is not None
    assert run.failure.hop == "push/Assume the push role by OIDC"
    assert "the CDK app creates no such role" in run.failure.message
    assert world.pushes() == before
    assert [s.status for s in run.stages[1:]] == ["Failed"] + ["Skipped"] * 3

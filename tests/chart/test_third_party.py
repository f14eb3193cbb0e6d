"""Declared third-party images the spec maps (`third_party_images[].values`), on a chart written the
way real repositories write it: an umbrella chart with a vendored Bitnami-style RabbitMQ subchart
and a busybox init container read from a top-level value. Mapped, `validate` passes, the deploy
renders the release's copies in the pipeline's ECR (pinned by the declared digests) and the AWS
Marketplace chart runs the seller's copies; unmapped, the cluster pulls the public references (a
warning naming the fix) and the Marketplace packaging refuses them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipelinegen.chart.render import shipped
from tests.cdk.conftest import digest_of
from tests.chart.test_chart_check import validate
from tests.chart.test_deploy import HELM, REPOS, VERSION, deploy, pod_images, release_of
from tests.chart.test_marketplace import MARKETPLACE, package, rendered_images

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")

RABBITMQ = "sha256:" + "a" * 64
BUSYBOX = "sha256:" + "b" * 64
ECR = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
MAPPINGS = (
    "    values:\n"
    "      - {registry: rabbitmq.image.registry, repository: rabbitmq.image.repository,\n"
    "         digest: rabbitmq.image.digest}\n",
    "    values: [{reference: initImage}]\n",
)


def repository(tmp_path: Path, *, mapped: bool = True) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "thirdparty", repo)
    if not mapped:
        spec = repo / "pipeline.yaml"
        text = spec.read_text()
        for mapping in MAPPINGS:
            text = text.replace(mapping, "")
        spec.write_text(text)
    return repo


def test_mapped_third_party_images_pass_validate_and_the_deploy_runs_the_copies(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path)
    checked = validate(repo)
    assert (checked.returncode, checked.stdout) == (0, "pipeline.yaml: valid\n"), checked.stderr
    assert "third-party image" not in checked.stderr
    root, spec = release_of(repo, tmp_path, build=False)
    result = deploy(root, spec, tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(pod_images((tmp_path / "rendered.yaml").read_text())) == [
        f"{ECR}/queue/api:{VERSION}@{digest_of('api')}",
        f"{ECR}/queue/busybox:{VERSION}@{BUSYBOX}",
        f"{ECR}/queue/rabbitmq@{RABBITMQ}",
    ]
    values = json.loads((root / "cdk" / "pipeline.json").read_text())["third_party_images"]
    assert values[0] == {
        "name": "rabbitmq",
        "image": f"docker.io/bitnami/rabbitmq:4.1.0-debian-12-r0@{RABBITMQ}",
        "digest": RABBITMQ,
        "repository": "queue/rabbitmq",
        "values": [
            {"path": "rabbitmq.image.registry", "form": "registry"},
            {"path": "rabbitmq.image.repository", "form": "name"},
            {"path": "rabbitmq.image.digest", "form": "digest"},
        ],
    }


def test_the_marketplace_chart_runs_the_sellers_copies(tmp_path: Path) -> None:
    root, _ = release_of(repository(tmp_path), tmp_path, build=False)
    result = package(root, tmp_path)
    assert result.returncode == 0, result.stderr
    images = rendered_images(Path(result.stdout.strip().split("\t")[2]), tmp_path)
    assert sorted(images) == [
        f"{MARKETPLACE}/acme/api:{VERSION}@{digest_of('api')}",
        f"{MARKETPLACE}/acme/busybox:{VERSION}@{BUSYBOX}",
        f"{MARKETPLACE}/acme/rabbitmq@{RABBITMQ}",
    ]


def test_unmapped_third_party_images_warn_and_the_marketplace_refuses_them(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path, mapped=False)
    checked = validate(repo)
    assert checked.returncode == 0, checked.stderr
    assert (
        f"third-party image 'busybox' is pulled from docker.io/library/busybox:1.36@{BUSYBOX}: "
        "the spec does not map it, so the cluster fetches it from outside the release: add "
        "`values:` to third-party image 'busybox'" in checked.stderr
    )
    assert "third-party image 'rabbitmq' is pulled from" in checked.stderr
    root, _ = release_of(repo, tmp_path, build=False)
    result = package(root, tmp_path)
    assert result.returncode == 1
    assert (
        f"containers 'rabbitmq': runs 'docker.io/bitnami/rabbitmq@{RABBITMQ}', which is not in "
        f"the seller's Marketplace repositories {MARKETPLACE}/acme: AWS Marketplace accepts "
        "only images from the seller's repositories: map it with `values:` (of third-party "
        "image 'rabbitmq' in the spec)" in result.stderr
    )


def test_a_mapped_image_the_chart_still_runs_from_upstream_is_located(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    (repo / "deploy" / "queue" / "templates" / "migrate.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n"
        "    spec:\n      restartPolicy: Never\n      containers:\n        - name: wait\n"
        f"          image: docker.io/library/busybox:1.36@{BUSYBOX}\n"
    )
    checked = validate(repo)
    assert checked.returncode == 1
    assert checked.stderr.splitlines()[:2] == [
        "pipeline.yaml:20:13: environment 'staging': Job/migrate (queue/templates/migrate.yaml) "
        f"containers 'wait': runs 'docker.io/library/busybox:1.36@{BUSYBOX}', the public "
        "reference of third-party image 'busybox': the spec maps it to initImage, and this "
        "image is not made from them",
        "  hint: map third-party image 'busybox' to the values path(s) the chart reads it from "
        "(`values:` of third-party image 'busybox' in the spec)",
    ]


def test_a_third_party_values_path_the_chart_lacks_is_located(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec = repo / "pipeline.yaml"
    spec.write_text(spec.read_text().replace("{reference: initImage}", "{reference: initImag}"))
    checked = validate(repo)
    assert checked.returncode == 1
    assert (
        "third-party image 'busybox': the chart defines no values path 'initImag'" in checked.stderr
    )
    line = next(line for line in checked.stderr.splitlines() if "'initImag'" in line)
    assert line.startswith("pipeline.yaml:20:"), line
    assert "did you mean 'initImage'?" in checked.stderr


def test_the_values_file_keeps_the_declared_digest_and_checks_a_listing_release() -> None:
    image_values = shipped("image_values")
    pipeline = {
        "project": "queue",
        "helm": {"images": {}},
        "third_party_images": [
            {
                "name": "busybox",
                "image": f"busybox:1.36@{BUSYBOX}",
                "digest": BUSYBOX,
                "repository": "queue/busybox",
                "values": [{"path": "initImage", "form": "reference"}],
            }
        ],
    }
    for digests in ({}, {"busybox": BUSYBOX}):  # a manifest that lists it, or does not
        assert image_values.image_values(
            pipeline, registry=ECR, version=VERSION, digests=digests
        ) == {"initImage": f"{ECR}/queue/busybox:{VERSION}@{BUSYBOX}"}
    with pytest.raises(image_values.ValuesError, match="third-party image 'busybox' is sha256:a"):
        image_values.image_values(
            pipeline, registry=ECR, version=VERSION, digests={"busybox": RABBITMQ}
        )


def test_the_release_copies_each_declared_image_by_digest_and_packages_it(tmp_path: Path) -> None:
    """The release workflow's copy step, run as written with a skopeo that records what it is
    asked and writes the image it names: each declared image copied from
    `<repository>@<digest>` (skopeo takes no tag beside a digest) with every platform and its
    digest kept, then packaged into the release's images, its manifest entry naming it. An
    archive with another digest is refused by the packager."""
    import subprocess
    import sys
    import zipfile

    from ruamel.yaml import YAML

    from pipelinegen import naming
    from tests.cli.test_cli import run
    from tests.conftest import ROOT
    from tests.oci import REF_NAME, oci_archive
    from tests.oci import digest_of as real_digest
    from tests.steps import run_step

    repo = repository(tmp_path)
    spec = repo / "pipeline.yaml"
    for name, digest in (("rabbitmq", RABBITMQ), ("busybox", BUSYBOX)):
        text = spec.read_text().replace(digest, real_digest(name))
        spec.write_text(text)
    assert run("compile", str(spec))[0] == 0
    workflow = YAML(typ="safe").load((repo / naming.RELEASE_WORKFLOW).read_text())
    [copy] = [
        s for s in workflow["jobs"]["package"]["steps"] if s.get("name", "").startswith("Copy the")
    ]
    fake = tmp_path / "bin" / "skopeo"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pathlib import Path\n"
        "from tests.oci import oci_archive\n"
        f"Path({str(tmp_path / 'asked')!r}).open('a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "name = sys.argv[-1].rsplit('/', 1)[1].removesuffix('.oci.tar')\n"
        "oci_archive(Path(sys.argv[-1].removeprefix('oci-archive:')), name)\n"
    )
    fake.chmod(0o755)
    (repo / "dist" / "images").mkdir(parents=True)
    oci_archive(repo / "dist" / "images" / "api.oci.tar", "api")
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    result = run_step(copy, cwd=repo, env=env)
    assert result.returncode == 0, result.stdout
    assert (tmp_path / "asked").read_text().splitlines() == [
        "copy --all --preserve-digests --retry-times 3 "
        f"docker://docker.io/bitnami/rabbitmq@{real_digest('rabbitmq')} "
        "oci-archive:dist/images/rabbitmq.oci.tar",
        "copy --all --preserve-digests --retry-times 3 "
        f"docker://docker.io/library/busybox@{real_digest('busybox')} "
        "oci-archive:dist/images/busybox.oci.tar",
    ]

    def package() -> subprocess.CompletedProcess[str]:
        script = [sys.executable, naming.PACKAGE_SCRIPT, "--plan", naming.RELEASE_PLAN]
        outputs = ["--out", "dist/release.zip", "--images-out", "dist/release.images.zip"]
        return subprocess.run(
            [*script, "--images", "dist/images", *outputs],
            cwd=repo,
            env={"PATH": "/usr/bin:/bin", "RELEASE_VERSION": VERSION, "GIT_SHA": "f" * 40},
            capture_output=True,
            text=True,
            check=False,
        )

    packaged = package()
    assert packaged.returncode == 0, packaged.stderr
    with zipfile.ZipFile(repo / "dist" / "release.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    with zipfile.ZipFile(repo / "dist" / "release.images.zip") as archive:
        index = json.loads(archive.read("index.json"))
    third = {i["name"]: i for i in manifest["images"] if "third_party" in i}
    assert {name: entry["digest"] for name, entry in third.items()} == {
        "rabbitmq": real_digest("rabbitmq"),
        "busybox": real_digest("busybox"),
    }
    assert {m["annotations"][REF_NAME] for m in index["manifests"]} == {"api", *third}
    oci_archive(repo / "dist" / "images" / "busybox.oci.tar", "other")
    refused = package()
    assert refused.returncode == 1
    assert "not the third-party image the spec declares" in refused.stderr


def _declared_busybox(check: Any) -> Any:
    """The chart check's Images with one declared, unmapped third-party image: busybox."""
    return check.Images(
        registry=ECR,
        project="queue",
        mapped={},
        third_party=[
            {"name": "busybox", "image": f"docker.io/library/busybox:1.36@{BUSYBOX}", "values": []}
        ],
    )


def test_a_declared_image_rendered_unpinned_is_told_to_map_not_to_declare() -> None:
    check = shipped("chart_check")
    images = _declared_busybox(check)
    [finding] = check.third_party_findings("busybox:1.36", "Pod/x containers 'wait'", images, None)
    assert finding.message == "runs 'busybox:1.36', which is not pinned by digest"
    assert finding.fix.startswith("third-party image 'busybox' is declared: map it with `values:`")


def test_a_declared_image_no_pod_runs_is_a_warning() -> None:
    check = shipped("chart_check")
    images = _declared_busybox(check)
    report = check.Report()
    check.judge(
        "",
        label="(staging, install)",
        environment=None,
        images=images,
        report=report,
        helm=str(HELM),
    )
    assert report.warnings == [
        "third-party image 'busybox' is run by no rendered pod (staging, install): the release "
        "copies it all the same (leave it out of `third_party_images` if no environment runs it)"
    ]

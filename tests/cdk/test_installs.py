"""The pipeline's tool installs: the CDK CLI the *release* asks for (install-cdk.sh), and skopeo
from pinned Debian packages without apt (install-skopeo.sh). Both check a pinned sha256 before
installing; the successful paths also run for real against the npm registry and Debian."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelinegen.render.cdk.versions import CDK_CLI, SKOPEO_DEBS
from tests.cdk.conftest import SCRIPTS, Fakes, run_script


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def release_asking(root: Path, **pins: object) -> Path:
    """A release whose cdk/pipeline.json names `pins` (cdk_cli, skopeo_debs)."""
    (root / "cdk").mkdir(parents=True, exist_ok=True)
    (root / "cdk" / "pipeline.json").write_text(json.dumps({"project": "acme", **pins}))
    return root


def fake_tarball(path: Path) -> str:
    path.write_bytes(b"not really a tarball: the fake npm only copies it")
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the CDK CLI ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1000.0", CDK_CLI["version"], "2.1200.0"])
def test_the_cli_installed_is_the_one_the_release_asks_for(
    tmp_path: Path, fakes: Fakes, version: str
) -> None:
    """An older and a newer CLI than this pipelinegen pins: the pipeline installs whatever the
    release's own app names, so upgrading aws-cdk-lib heals itself in that same release."""
    sha256 = fake_tarball(tmp_path / "cli.tgz")
    fakes.configure(npm_tarball=str(tmp_path / "cli.tgz"))
    root = release_asking(tmp_path / "release", cdk_cli={"version": version, "sha256": sha256})
    result = run_script("install-cdk.sh", cwd=root, env={}, fakes=fakes)
    assert result.returncode == 0, result.stderr
    npm = fakes.argvs("npm")
    assert npm[0] == ["pack", f"aws-cdk@{version}", "--silent"]
    assert npm[1][:-1] == [
        "install",
        "--global",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--silent",
    ]
    assert npm[1][-1].endswith(f"/aws-cdk-{version}.tgz")
    assert result.stdout.endswith(f"==> aws-cdk {version} installed\n")


def test_a_cli_tarball_with_another_sha256_is_not_installed(tmp_path: Path, fakes: Fakes) -> None:
    sha256 = fake_tarball(tmp_path / "cli.tgz")
    fakes.configure(npm_tarball=str(tmp_path / "cli.tgz"))
    root = release_asking(tmp_path / "r", cdk_cli={"version": "2.1200.0", "sha256": "0" * 64})
    result = run_script("install-cdk.sh", cwd=root, env={}, fakes=fakes)
    assert errors(result) == [
        f"error: aws-cdk-2.1200.0.tgz has sha256 {sha256}, not the pinned {'0' * 64}: not installed"
    ]
    assert [argv[0] for argv in fakes.argvs("npm")] == ["pack"]


@pytest.mark.parametrize(
    "version",
    ["latest", "^2.1148.1", "2.1148", "2.1148.1-rc.0", "file:../evil", "2.1.1 --registry=x", ""],
)
def test_only_an_exact_version_reaches_npm(tmp_path: Path, fakes: Fakes, version: str) -> None:
    root = release_asking(tmp_path / "r", cdk_cli={"version": version, "sha256": "0" * 64})
    result = run_script("install-cdk.sh", cwd=root, env={}, fakes=fakes)
    assert result.returncode == 1
    assert len(errors(result)) == 1 and "is not an exact aws-cdk version" in errors(result)[0]
    assert fakes.calls() == []


def test_a_release_without_its_cdk_app_is_explained(tmp_path: Path, fakes: Fakes) -> None:
    (tmp_path / "r").mkdir()
    result = run_script("install-cdk.sh", cwd=tmp_path / "r", env={}, fakes=fakes)
    assert errors(result) == ["error: no cdk/pipeline.json: run this in the extracted release"]


def test_the_pinned_cli_installs_for_real_from_npm(tmp_path: Path) -> None:
    """The real npm registry and npm: the pinned sha256 is the published tarball's."""
    if shutil.which("npm") is None:
        pytest.fail("npm is missing (Node.js 20+ is needed by the test suite)")
    root = release_asking(tmp_path / "release", cdk_cli=CDK_CLI)
    prefix = tmp_path / "prefix"
    env = {
        "NPM_CONFIG_PREFIX": str(prefix),
        "NPM_CONFIG_CACHE": str(tmp_path / "npm-cache"),
        "NPM_CONFIG_UPDATE_NOTIFIER": "false",
        **{k: os.environ[k] for k in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE") if k in os.environ},
        "PATH": f"{prefix / 'bin'}:{os.environ['PATH']}",
    }
    result = run_script("install-cdk.sh", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"==> aws-cdk {CDK_CLI['version']} installed\n")


# --- skopeo -----------------------------------------------------------------------------------


def test_skopeo_installs_for_real_from_pinned_debian_packages(tmp_path: Path) -> None:
    """Real downloads from Debian, each checked against its pin, unpacked without apt; the
    installed skopeo runs with its own libraries and can copy with --preserve-digests."""
    root = release_asking(tmp_path / "release", skopeo_debs=SKOPEO_DEBS)
    result = run_script("install-skopeo.sh", cwd=root, env={"INSTALL_DIR": "tools"})
    assert result.returncode == 0, result.stderr
    skopeo = root / "tools" / "bin" / "skopeo"
    assert result.stdout.endswith("==> skopeo version 1.9.3 installed in tools\n")
    moved = tmp_path / "elsewhere"
    shutil.move(root / "tools", moved)  # as the Tools artifact is unpacked in later actions
    help_text = subprocess.run(
        [str(moved / "bin" / "skopeo"), "copy", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    assert "--preserve-digests" in help_text
    assert not skopeo.exists()


def test_a_skopeo_package_with_another_sha256_is_refused(tmp_path: Path, fakes: Fakes) -> None:
    (tmp_path / "other.deb").write_bytes(b"not the pinned package")
    fakes.configure(curl_file=str(tmp_path / "other.deb"))
    root = release_asking(tmp_path / "release", skopeo_debs=SKOPEO_DEBS[:1])
    result = run_script("install-skopeo.sh", cwd=root, env={}, fakes=fakes)
    actual = hashlib.sha256(b"not the pinned package").hexdigest()
    assert errors(result) == [
        f"error: skopeo_1.9.3+ds1-1+b10_amd64.deb has sha256 {actual}, not the pinned "
        f"{SKOPEO_DEBS[0]['sha256']}: not installed"
    ]
    assert fakes.argvs("curl")[0][-1] == (f"https://deb.debian.org/debian/{SKOPEO_DEBS[0]['path']}")
    assert not (root / "tools").exists()


@pytest.mark.parametrize(
    ("deb", "message"),
    [
        ({"path": "../etc/x.deb"}, "is not a .deb in Debian's pool"),
        ({"sha256": "abc"}, "'abc' is not a sha256"),
    ],
)
def test_a_bad_pin_is_refused_before_any_download(
    tmp_path: Path, fakes: Fakes, deb: dict[str, str], message: str
) -> None:
    root = release_asking(tmp_path / "release", skopeo_debs=[{**SKOPEO_DEBS[0], **deb}])
    result = run_script("install-skopeo.sh", cwd=root, env={}, fakes=fakes)
    assert len(errors(result)) == 1 and message in errors(result)[0], result.stderr
    assert fakes.calls() == []


def test_the_scripts_are_shipped_where_the_buildspecs_run_them() -> None:
    for name in ("install-cdk.sh", "install-skopeo.sh", "install-helm.sh"):
        assert (SCRIPTS / name).is_file()

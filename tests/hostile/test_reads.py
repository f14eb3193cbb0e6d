"""Every path the spec names, and every file the packager reads, stays inside the repository and
is a regular file or folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelinegen import naming
from tests.hostile.conftest import run
from tests.oci import oci_archive

VALUES = "deploy/helm/values-prod.yaml"


def _line_of(spec: Path, text: str) -> int:
    return next(n for n, line in enumerate(spec.read_text().splitlines(), 1) if text in line)


def test_a_values_file_linked_outside_the_repository_is_a_located_error(minimal: Path) -> None:
    (minimal / VALUES).unlink()
    (minimal / VALUES).symlink_to("/etc/passwd")
    spec = minimal / "pipeline.yaml"
    code, _, err = run("validate", str(spec))
    line = _line_of(spec, VALUES)
    assert code == 1
    assert f"{spec}:{line}:" in err
    assert f"'{VALUES}' is a symbolic link that leads outside the repository" in err


def test_a_dockerfile_linked_through_a_folder_outside_is_refused(
    minimal: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM scratch\n")
    (minimal / "Dockerfile").unlink()
    (minimal / "Dockerfile").symlink_to(outside / "Dockerfile")
    code, _, err = run("validate", str(minimal / "pipeline.yaml"))
    assert code == 1 and "'Dockerfile' is a symbolic link that leads outside" in err


def test_a_link_inside_the_repository_is_followed(minimal: Path) -> None:
    (minimal / "docker").mkdir()
    (minimal / "Dockerfile").rename(minimal / "docker" / "Dockerfile")
    (minimal / "Dockerfile").symlink_to("docker/Dockerfile")
    assert run("validate", str(minimal / "pipeline.yaml"))[0] == 0


def test_a_fifo_as_values_file_is_a_located_error_not_a_hang(minimal: Path) -> None:
    (minimal / VALUES).unlink()
    os.mkfifo(minimal / VALUES)
    code, _, err = run("validate", str(minimal / "pipeline.yaml"))
    assert code == 1 and f"'{VALUES}' is a special file (FIFO, socket or device), not a file" in err


def test_a_linked_usage_file_outside_is_not_read(full: Path) -> None:
    usage = full / "docs" / "marketplace-usage.md"
    usage.unlink()
    usage.symlink_to("/proc/self/environ")
    code, _, err = run("validate", str(full / "pipeline.yaml"))
    assert code == 1 and "'docs/marketplace-usage.md' is a symbolic link that leads outside" in err


@pytest.fixture
def packaged(full: Path) -> Path:
    """The full example compiled, with its image archives built."""
    assert run("compile", str(full / "pipeline.yaml"))[0] == 0
    for name in ("api", "worker", "web"):
        oci_archive(full / "dist" / "images" / f"{name}.oci.tar", name)
    return full


def _package(root: Path) -> subprocess.CompletedProcess[str]:
    script = [sys.executable, naming.PACKAGE_SCRIPT, "--plan", naming.RELEASE_PLAN]
    outputs = ["--out", "dist/release.zip", "--images-out", "dist/release.images.zip"]
    return subprocess.run(
        [*script, "--images", "dist/images", *outputs],
        cwd=root,
        env={**os.environ, "RELEASE_VERSION": "v1.2.3", "GIT_SHA": "f" * 40, "TOKEN": "secret"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("place", "target"),
    [
        ("deploy/helm/platform/templates/env.yaml", "/proc/self/environ"),
        ("deploy/helm/values-prod.yaml", "/etc/passwd"),
        ("docs/marketplace-usage.md", "/proc/self/environ"),
        ("deploy/cdk/stacks/extra.py", "/etc/hostname"),
    ],
)
def test_the_packager_refuses_links_that_leave_the_repository(
    packaged: Path, place: str, target: str
) -> None:
    (packaged / place).unlink(missing_ok=True)
    (packaged / place).symlink_to(target)
    result = _package(packaged)
    assert result.returncode == 1
    assert f"package-release: {place} leads outside the repository" in result.stderr
    assert not (packaged / "dist" / "release.zip").exists()


def test_the_packager_refuses_a_linked_folder_and_a_fifo(packaged: Path, tmp_path: Path) -> None:
    (packaged / "deploy/helm/platform/templates/more").symlink_to(tmp_path)
    result = _package(packaged)
    assert (
        result.returncode == 1 and "is a symbolic link to a folder: not packaged" in result.stderr
    )
    (packaged / "deploy/helm/platform/templates/more").unlink()
    os.mkfifo(packaged / "deploy/helm/platform/templates/pipe.yaml")
    result = _package(packaged)
    assert result.returncode == 1 and "pipe.yaml is not a regular file" in result.stderr


def test_the_packager_follows_links_inside_the_repository(packaged: Path) -> None:
    (packaged / "deploy/helm/platform/templates/copy.yaml").symlink_to("api.yaml")
    result = _package(packaged)
    assert result.returncode == 0, result.stderr

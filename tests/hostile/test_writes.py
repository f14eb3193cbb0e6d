"""compile and init write only regular files inside the repository, never through a link."""

from __future__ import annotations

import os
from pathlib import Path

from pipelinegen import naming
from tests.hostile.conftest import run, tree

HOOK = "#!/bin/sh\necho owned > /tmp/pipelinegen-owned\n"


def _inline_usage(repo: Path, text: str) -> None:
    spec = repo / "pipeline.yaml"
    inline = '"' + text.replace("\n", "\\n") + '"'
    spec.write_text(spec.read_text().replace("docs/marketplace-usage.md", inline))


def test_a_link_at_the_old_temporary_name_writes_no_git_hook(full: Path) -> None:
    _inline_usage(full, HOOK)
    cdk = full / naming.CDK_APP_DIR
    cdk.mkdir(parents=True)
    (cdk / f".{naming.INLINE_USAGE}.pipelinegen-tmp").symlink_to("../../.git/hooks/pre-commit")
    code, _, err = run("compile", str(full / "pipeline.yaml"))
    assert (code, err) == (0, "")
    assert not (full / ".git" / "hooks" / "pre-commit").exists()
    usage = cdk / naming.INLINE_USAGE
    assert usage.read_text() == HOOK and not usage.is_symlink()
    assert usage.stat().st_mode & 0o777 == 0o755 & ~_umask()


def test_a_linked_output_folder_is_refused_and_nothing_written(full: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (full / "deploy" / "cdk").symlink_to(outside)
    before = tree(full)
    code, _, err = run("compile", str(full / "pipeline.yaml"))
    assert code == 1
    assert f"error: {naming.CDK_APP_DIR} is a symbolic link, not a folder" in err
    assert list(outside.iterdir()) == []
    assert tree(full) == before


def test_a_linked_parent_higher_up_is_refused(minimal: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "workflows").mkdir(parents=True)
    (minimal / ".github").symlink_to(outside)
    code, _, err = run("compile", str(minimal / "pipeline.yaml"))
    assert code == 1 and "error: .github is a symbolic link, not a folder" in err
    assert list((outside / "workflows").iterdir()) == []


def test_a_link_at_a_target_is_not_written_through(minimal: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    (minimal / ".github" / "workflows").mkdir(parents=True)
    (minimal / naming.CI_WORKFLOW).symlink_to(victim)
    code, _, err = run("compile", str(minimal / "pipeline.yaml"))
    assert code == 1 and "did not write" in err and naming.CI_WORKFLOW in err
    assert victim.read_text() == "mine\n"
    code, _, err = run("compile", "--force", str(minimal / "pipeline.yaml"))
    assert (code, err) == (0, "")
    assert victim.read_text() == "mine\n" and not (minimal / naming.CI_WORKFLOW).is_symlink()


def test_init_replaces_a_linked_schema_copy_instead_of_writing_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("{}\n")
    repo = tmp_path / "repo"
    (repo / naming.STATE_DIR).mkdir(parents=True)
    (repo / naming.SCHEMA_COPY).symlink_to(victim)
    code, _, err = run("init", str(repo / "pipeline.yaml"))
    assert (code, err) == (0, "")
    assert victim.read_text() == "{}\n"
    assert not (repo / naming.SCHEMA_COPY).is_symlink()


def test_init_refuses_a_linked_state_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / naming.STATE_DIR).symlink_to(outside)
    code, _, err = run("init", str(repo / "pipeline.yaml"))
    assert code == 1 and f"{naming.STATE_DIR} is a symbolic link, not a folder" in err
    assert list(outside.iterdir()) == [] and not (repo / "pipeline.yaml").exists()


def test_init_does_not_follow_a_dangling_link_at_the_spec(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pipeline.yaml").symlink_to(tmp_path / "created-through-link")
    code, _, err = run("init", str(repo / "pipeline.yaml"))
    assert code == 1 and "already exists" in err
    assert run("init", "--force", str(repo / "pipeline.yaml"))[0] == 0
    assert not (tmp_path / "created-through-link").exists()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_crlf_in_a_generated_script_is_out_of_date_and_not_unchanged(minimal: Path) -> None:
    spec = str(minimal / "pipeline.yaml")
    assert run("compile", spec)[0] == 0
    script = minimal / naming.CDK_APP_DIR / "scripts" / "lib.sh"
    generated = script.read_bytes()
    script.write_bytes(generated.replace(b"\n", b"\r\n"))
    code, _, err = run("compile", "--check", spec)
    assert code == 1 and "out of date: deploy/cdk/scripts/lib.sh" in err and "\\r" in err
    code, _, err = run("compile", spec)
    assert code == 1 and "deploy/cdk/scripts/lib.sh" in err and "unchanged" not in err
    assert run("compile", "--force", spec)[0] == 0
    assert script.read_bytes() == generated


def test_a_hand_edited_generated_file_is_refused_unless_forced(minimal: Path) -> None:
    spec = str(minimal / "pipeline.yaml")
    assert run("compile", spec)[0] == 0
    workflow = minimal / naming.CI_WORKFLOW
    generated = workflow.read_text()
    workflow.write_text(generated + "# my change\n")
    code, _, err = run("compile", spec)
    assert code == 1 and f"(or that were edited since): {naming.CI_WORKFLOW}" in err
    assert workflow.read_text() == generated + "# my change\n"
    code, out, _ = run("compile", "--force", spec)
    assert code == 0 and out.startswith("wrote 1,")
    assert workflow.read_text() == generated

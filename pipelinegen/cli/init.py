"""`pipelinegen init`: write a commented starter spec and the schema editors read it with."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import click

from pipelinegen.cli.options import DEFAULT_SPEC
from pipelinegen.errors import UserError
from pipelinegen.resources import schema_path

SCHEMA_COPY = Path(".pipelinegen") / "pipeline.schema.json"
_GITHUB_REMOTE = re.compile(r"github\.com[:/]([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?$")


@click.command("init")
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SPEC, metavar="[PATH]"
)
@click.option("--force", is_flag=True, help="Overwrite an existing spec.")
def command(path: Path, force: bool) -> None:
    """Write a commented starter spec to PATH (default: pipeline.yaml).

    Also writes .pipelinegen/pipeline.schema.json beside it, which the spec's first line points
    editors to for completion, hover documentation and live errors.
    """
    from pipelinegen.render.templating import render  # jinja2 only for init

    if path.exists() and not force:
        raise UserError(f"{path} already exists", "use --force to overwrite it")
    folder = path.resolve().parent
    remote = _github_repository(folder)
    text = render(
        "init/pipeline.yaml.j2",
        schema=SCHEMA_COPY.as_posix(),
        name=_slug(folder.name),
        repository=remote or "your-org/your-repo",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (path.parent / SCHEMA_COPY).parent.mkdir(exist_ok=True)
    shutil.copyfile(schema_path(), path.parent / SCHEMA_COPY)
    click.echo(f"wrote {path} and {path.parent / SCHEMA_COPY}")
    if remote:
        click.echo(_casing_warning(remote), err=True)
    click.echo(f"next: edit {path}, then run 'pipelinegen validate {path}'")


def _slug(text: str) -> str:
    """The folder name as a spec `name`: lowercase, hyphens, starting with a letter."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)[:40].rstrip("-")
    return slug if len(slug) >= 2 else "my-project"


def _casing_warning(repository: str) -> str:
    """GitHub resolves a remote URL in any case, but the OIDC subject carries GitHub's own
    spelling and AWS compares it case-sensitively: the remote's casing is only a guess."""
    return (
        f"warning: github.repository is '{repository}', as the 'origin' remote spells it; "
        "the release trust compares it case-sensitively with the name as GitHub shows it "
        "(gh repo view --json nameWithOwner), so correct the casing if it differs"
    )


def _github_repository(folder: Path) -> str | None:
    """owner/name from the `origin` remote, when it is on GitHub."""
    try:
        remote = subprocess.run(
            ["git", "-C", str(folder), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    match = _GITHUB_REMOTE.search(remote)
    return match.group(1) if match else None

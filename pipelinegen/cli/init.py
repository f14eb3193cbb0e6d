"""`pipelinegen init`: write a commented starter spec and the schema editors read it with."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import click

from pipelinegen import naming
from pipelinegen.chart.blocks import Block, blocks
from pipelinegen.cli.options import DEFAULT_SPEC
from pipelinegen.discovery import discover
from pipelinegen.errors import UserError
from pipelinegen.resources import schema_path
from pipelinegen.spec import placeholders

SCHEMA_COPY = Path(naming.SCHEMA_COPY)
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
    from pipelinegen import output
    from pipelinegen.render.templating import render  # jinja2 only for init

    folder = path.resolve().parent
    remote = _github_repository(folder)
    if output.exists(path.parent, path.name) and not force:
        raise UserError(f"{path} already exists", "use --force to overwrite it")
    text = render("init/pipeline.yaml.j2", **_starter(folder, remote))
    path.parent.mkdir(parents=True, exist_ok=True)  # the folder the user named, links and all
    schema = schema_path().read_text(encoding="utf-8")
    output.apply(path.parent, output.Changes(write={path.name: text, naming.SCHEMA_COPY: schema}))
    click.echo(f"wrote {path} and {path.parent / SCHEMA_COPY}")
    if remote:
        click.echo(_casing_warning(remote), err=True)
    click.echo(f"next: edit {path}, then run 'pipelinegen validate {path}'")


def _starter(folder: Path, repository: str | None) -> dict[str, Any]:
    """What the starter spec says about the repository at `folder` (on GitHub as `repository`,
    when its remote says so): what discovery found, the placeholders where only the user knows
    (`validate` refuses them until replaced)."""
    found = discover(folder)
    name = _slug(folder.name)
    images: list[dict[str, Any]] = []
    for dockerfile in found.dockerfiles:
        context, _, file = dockerfile.rpartition("/")
        stem = file.removesuffix(".Dockerfile").removeprefix("Dockerfile.")
        base = _slug(stem if stem != "Dockerfile" else (context.rpartition("/")[2] or name))
        taken = {image["name"] for image in images}
        image = next(
            f"{base}-{n}" if n else base
            for n in range(len(images) + 1)
            if (f"{base}-{n}" if n else base) not in taken
        )
        images.append({"name": image, "context": context or ".", "dockerfile": file})
    blocks = _image_blocks(folder, found.charts[0]) if found.charts else []
    for entry in images:
        entry["mappings"] = [b.value() for b in blocks if b.names(entry["name"])]
    others = [b.mapping() for b in blocks if not any(b.names(e["name"]) for e in images)]
    environments = [
        {
            "name": environment,
            "files": [v for v in found.values if environment in v.rpartition("/")[2]],
            "approval": environment == "prod",
        }
        for environment in ("staging", "prod")
    ]
    return {
        "schema": SCHEMA_COPY.as_posix(),
        "name": name,
        "repository": repository or placeholders.REPOSITORY,
        "account": placeholders.ACCOUNT,
        "images": images,
        "chart": found.charts[0] if found.charts else "deploy/helm/app",
        "chart_note": "the umbrella chart that deploys every environment"
        + ("" if found.charts else " (none was found: write where yours will be)"),
        "environments": environments,
        "other_blocks": others,
    }


SAFE_PATH = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,200}$")  # what may go into the starter's comments


def _image_blocks(folder: Path, chart: str) -> list[Block]:
    """The image blocks of the chart `init` found (none when it cannot be read: `validate`
    then says why)."""
    from pipelinegen.chart.read import ChartError, read_chart
    from pipelinegen.spec.repository import WorkingTree

    try:
        found = blocks(read_chart(WorkingTree(folder), chart))
    except ChartError:
        return []
    return [block for block in found if SAFE_PATH.match(block.path)]


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

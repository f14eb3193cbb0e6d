"""`pipelinegen init`: write a commented starter spec and the schema editors read it with."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipelinegen import naming, provenance, toolchains
from pipelinegen.cli.options import DEFAULT_SPEC
from pipelinegen.discovery import discover
from pipelinegen.errors import UserError
from pipelinegen.resources import schema_path
from pipelinegen.spec import placeholders
from pipelinegen.spec.repository import WorkingTree

if TYPE_CHECKING:
    from pipelinegen.chart.read import Chart

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
    click.echo(_next_steps(path))


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
        images.append({"name": image, "context": context or ".", "dockerfile": file, "mapping": ""})

    chart_path = _umbrella(folder, found.charts)
    chart = _chart(folder, chart_path) if chart_path else None
    for entry in images:
        entry.update(_mapping(chart, entry["name"]))
    environments = [
        {
            "name": environment,
            "cluster": placeholders.cluster(environment),
            "files": [v for v in found.values if environment in v.rpartition("/")[2]],
            "approval": environment == "prod",
        }
        for environment in ("staging", "prod")
    ]
    origin = provenance.origin()
    others = _other_blocks(chart, [entry["name"] for entry in images]) if chart else []
    return {
        "checks": [_check(check) for check in toolchains.checks(folder, found.manifests)],
        "test_command": placeholders.TEST_COMMAND,
        "pipelinegen": origin if origin.kind == "git" else None,
        "schema": SCHEMA_COPY.as_posix(),
        "name": name,
        "repository": repository or placeholders.REPOSITORY,
        "account": placeholders.ACCOUNT,
        "images": images,
        "chart": chart_path or "deploy/helm/app",
        "global_values": chart is None or not refuses_global(chart),
        "chart_note": "the umbrella chart that deploys every environment"
        + ("" if found.charts else " (none was found: write where yours will be)"),
        "environments": environments,
        "other_blocks": others,
    }


def _chart(folder: Path, path: str) -> Chart | None:
    """The chart at `path` as the chart check reads it; None when it cannot be read (the
    mappings are then left to the user, and `validate` says why)."""
    from pipelinegen.chart.read import ChartError, read_chart

    try:
        return read_chart(WorkingTree(folder), path)
    except ChartError:
        return None


def _umbrella(folder: Path, charts: list[str]) -> str | None:
    """The chart that deploys the others: the shallowest one that no other found chart uses as
    a subchart (a `file://` dependency or a folder in its charts/); the shallowest one when
    every chart is someone's subchart."""
    readable = [chart for path in charts if (chart := _chart(folder, path)) is not None]
    used = {sub.path for chart in readable for prefix, sub in chart.walk() if prefix}
    return next((path for path in charts if path not in used), charts[0] if charts else None)


def _mapping(chart: Chart | None, image: str) -> dict[str, str]:
    """The image's `values:` as the spec writes it (each image block of the chart that names
    it, in its shape: pipelinegen.chart.blocks, the inference `validate`'s hints use), and
    where it came from, or nothing."""
    from pipelinegen.chart.blocks import blocks
    from pipelinegen.render.templating import yaml_scalar

    found = (
        [b for b in blocks(chart) if b.names(image) and SAFE_PATH.match(b.path)] if chart else []
    )
    if not found:
        return {}
    items = []
    for block in found:
        value = block.value()
        if isinstance(value, str):
            items.append(yaml_scalar(value))
        else:
            pairs = ", ".join(f"{key}: {yaml_scalar(path)}" for key, path in value.items())
            items.append(f"{{{pairs}}}")
    where = ", ".join(block.path for block in found)
    single = len(found) == 1 and isinstance(found[0].value(), str)  # a path alone, unlisted
    mapping = items[0] if single else f"[{', '.join(items)}]"
    return {"mapping": mapping, "why": f"the chart's {where}"}


def _other_blocks(chart: Chart, images: list[str]) -> list[dict[str, str]]:
    """The chart's image blocks that name none of the images: the mapping that would map each
    (for the team to place), and, should it be a third party's image, a `third_party_images`
    entry for it (its default repository, the digest left for the team: `validate` refuses
    the placeholder)."""
    from pipelinegen.chart.blocks import blocks

    found: list[dict[str, str]] = []
    for block in blocks(chart):
        if not SAFE_PATH.match(block.path) or any(block.names(image) for image in images):
            continue
        repository = block.repository.split("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository[: repository.rindex(":")]
        stem = repository.rsplit("/", 1)[-1] or block.path.removesuffix(".image")
        taken = {entry["name"] for entry in found} | set(images)
        base = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:60] or "image"
        name = next(
            f"{base}-{n}" if n else base
            for n in range(len(found) + 1)
            if (f"{base}-{n}" if n else base) not in taken
        )
        found.append(
            {
                "mapping": block.mapping(),
                "name": name,
                "image": f"{repository or 'REGISTRY/REPOSITORY'}@sha256:<digest>",
            }
        )
    return found


def refuses_global(chart: Chart) -> bool:
    """Whether a values.schema.json of the chart or a subchart rejects the documented block
    under `global` (Helm validates the merged values against every chart's schema), so the spec
    must set `helm.global_values: false`, as `validate`'s hint for that error says."""
    from pipelinegen.chart.check import _errors  # the chart check's own schema test
    from pipelinegen.chart.schema import SchemaError

    block: dict[str, Any] = {"pipelinegen": {"images": {}}}
    for _, each in chart.walk():
        if each.schema is None:
            continue
        try:
            before = set(_errors(each, each.values))
            after = set(_errors(each, {**each.values, "global": block}))
        except SchemaError:
            return False  # validate reports the schema itself
        if after - before:
            return True
    return False


SAFE_PATH = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,200}$")  # what may go into the starter's comments


def _check(check: toolchains.Check) -> dict[str, Any]:
    from pipelinegen.render.templating import yaml_scalar

    setup = ", ".join(f"{tool}: {yaml_scalar(version)}" for tool, version in check.setup.items())
    return {**check.__dict__, "setup_yaml": f"{{{setup}}}"}


def _next_steps(path: Path) -> str:
    """What comes after init, in order, each with its command or page."""
    return (
        "next:\n"
        f"  1. replace the placeholders ('pipelinegen validate {path}' lists them) and review "
        "the lines marked 'review'\n"
        f"  2. pipelinegen compile {path}, then commit the spec and what it writes\n"
        "  3. bootstrap each AWS account, deploy the stacks and set up GitHub (environments, "
        "tag rulesets, required checks): see docs/getting-started.md in pipelinegen's "
        "documentation"
    )


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

"""`pipelinegen compile`: write the generated CI and CD files, or check that they are current."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipelinegen import cache, output
from pipelinegen.cli.options import spec_argument
from pipelinegen.cli.read import read_text
from pipelinegen.errors import ExitCode, UserError
from pipelinegen.spec.repository import WorkingTree

if TYPE_CHECKING:
    from pipelinegen.spec.models import Install


@click.command("compile")
@spec_argument
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The repository root to write into. Default: the spec's folder.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if a generated file is missing, out of date or obsolete.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite or delete generated files that were edited by hand, or not written by "
    "pipelinegen.",
)
def command(spec: Path, out: Path | None, check: bool, force: bool) -> None:
    """Compile SPEC (default: pipeline.yaml) into the GitHub Actions workflows and the files
    they run. A failed compile writes nothing."""
    root = out if out is not None else spec.parent
    _refuse_nested(spec, root)
    if check and (interrupted := output.pending(root)):
        raise UserError(
            f"an interrupted compile left {interrupted}: the generated files are part old, "
            "part new",
            "run 'pipelinegen compile' to finish it",
        )
    text = read_text(spec)
    spec_path = _relative(spec, root)
    cached = cache.entry(spec, root, spec_path, text)
    tree = WorkingTree(spec.parent)
    if check and cached is not None and (count := cached.current(root, tree)) is not None:
        click.echo(f"{count} generated files are current")
        return

    from pipelinegen.render import Source, render
    from pipelinegen.spec.load import load

    recording = cache.Recording(tree)
    validated = load(text, file=str(spec), repository=recording)
    files = render(validated, Source(path=spec_path, text=text))
    if cached is not None:
        cached.store(files, recording.answers)
    if check:
        report = output.stale(root, files)
        for line in report:
            click.echo(line, err=True)
        if report:
            click.echo("the generated files are not current: run 'pipelinegen compile'", err=True)
            raise click.exceptions.Exit(ExitCode.FAILURE)
        click.echo(f"{len(files)} generated files are current")
        return
    root.mkdir(parents=True, exist_ok=True)  # the folder the user named
    with output.lock(root):
        output.recover(root)
        changes = output.plan(root, files, force=force)
        output.apply(root, changes)
    written, deleted = len(changes.write), len(changes.delete)
    click.echo(f"wrote {written}, deleted {deleted}, unchanged {len(changes.unchanged)}")
    _warn_uninstallable(validated.pipelinegen)


def _warn_uninstallable(configured: Install | None) -> None:
    """Say so when the generated jobs would not install the pipelinegen that compiled them
    (the stale check and the PR job fail on their first run otherwise)."""
    from pipelinegen import provenance

    pinned = (configured.git, configured.commit) if configured is not None else None
    if (warning := provenance.advice(pinned, provenance.origin())) is not None:
        click.echo(f"warning: {warning}", err=True)


def _refuse_nested(spec: Path, root: Path) -> None:
    """A spec in a subfolder of the root it compiles into would be validated against its own
    folder and built from the root: the generated jobs would name the wrong paths."""
    folder, top = spec.parent.resolve(), root.resolve()
    if folder != top and folder.is_relative_to(top):
        place = top / spec.name
        raise UserError(
            f"{spec} is in a subfolder of the output root {root}: the paths in a spec are "
            "relative to its own folder, and the generated jobs run from the root",
            f"move the spec to {place} (and its paths with it), or compile without --out",
        )


def _relative(spec: Path, root: Path) -> str:
    """The spec's path as generated files name it: relative to the root, with '/'."""
    try:
        return spec.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return spec.name

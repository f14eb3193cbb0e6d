"""The command line: one module per verb, wired here, with the one error handler.

Exit codes: 0 success, 1 invalid spec / failed check, 2 usage error (click), 3 internal error.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pipelinegen import __version__
from pipelinegen.cli import compile, diff, init, schema, synth, validate
from pipelinegen.errors import ExitCode, PipelinegenError, SpecError, UserError


class _Cli(click.Group):
    """Maps pipelinegen's exceptions to exit codes, so no command handles errors itself."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except PipelinegenError as error:
            _report(error)
            ctx.exit(error.exit_code)
        except Exception:  # a bug: show everything needed to report it
            import traceback  # only on this path; it costs start-up time

            traceback.print_exc()
            click.echo(
                f"pipelinegen {__version__}: internal error (exit 3). This is a bug in "
                "pipelinegen, not in your spec; please report it with the output above.",
                err=True,
            )
            ctx.exit(ExitCode.INTERNAL)


def _report(error: PipelinegenError) -> None:
    if isinstance(error, SpecError):
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
    elif isinstance(error, UserError):
        click.echo(f"error: {error.message}", err=True)
        if error.hint:
            click.echo(f"  hint: {error.hint}", err=True)
    else:
        click.echo(f"error: {error}", err=True)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="pipelinegen")
def cli() -> None:
    """Compile one pipeline.yaml into GitHub Actions CI and an AWS CodePipeline for CD.

    Exit codes: 0 success; 1 invalid spec or failed check; 2 usage error; 3 internal error.
    """


cli.add_command(validate.command)
cli.add_command(compile.command)
cli.add_command(synth.command)
cli.add_command(diff.command)
cli.add_command(schema.command)
cli.add_command(init.command)


def main() -> None:
    """The console script."""
    sys.exit(cli.main(prog_name="pipelinegen"))

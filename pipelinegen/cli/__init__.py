"""The command line: one module per verb, wired here, with the one error handler.

A verb's module is imported only when that verb runs, so `validate` does not pay for `diff`.

Exit codes: 0 success, 1 invalid spec / failed check, 2 usage error (click), 3 internal error.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from pipelinegen import __version__
from pipelinegen.errors import ExitCode, PipelinegenError, SpecError, UserError
from pipelinegen.printable import guarded_streams, one_line

# Each verb is the module pipelinegen.cli.<verb>.
VERBS = ("compile", "diff", "graph", "init", "schema", "synth", "validate")


class _Cli(click.Group):
    """Loads each verb on first use, and maps pipelinegen's exceptions to exit codes, so no
    command handles errors itself."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in VERBS:
            return None
        command: click.Command = importlib.import_module(f"pipelinegen.cli.{name}").command
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Everything the command line prints, click's own messages included, shows control
        and bidirectional characters as escapes (pipelinegen.printable)."""
        with guarded_streams():
            return super().main(*args, **kwargs)

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
        click.echo(f"error: {one_line(error.message)}", err=True)
        if error.hint:
            click.echo(f"  hint: {one_line(error.hint)}", err=True)
    else:
        click.echo(f"error: {one_line(str(error))}", err=True)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="pipelinegen")
def cli() -> None:
    """Compile one pipeline.yaml into GitHub Actions CI and an AWS CodePipeline for CD.

    Exit codes: 0 success; 1 invalid spec or failed check; 2 usage error; 3 internal error.
    """


def main() -> None:
    """The console script."""
    sys.exit(cli.main(prog_name="pipelinegen"))

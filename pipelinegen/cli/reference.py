"""The CLI reference in Markdown, generated from the click commands themselves (the
documentation site's docs/cli.md embeds it; tests/test_docs.py keeps it current): for each
command its usage line, its help text and a table of its options, as `--help` prints them."""

from __future__ import annotations

import inspect

import click


def render() -> str:
    """One section per command, in the order `pipelinegen --help` lists them."""
    from pipelinegen.cli import cli

    context = click.Context(cli, info_name="pipelinegen", **cli.context_settings)
    sections = []
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        if command is not None:
            sections.append(
                # Under the group's context, as a run sees it: `-h` is the group's setting, and
                # click caches a command's help option from the first context that asks.
                _section(command, click.Context(command, info_name=name, parent=context))
            )
    return "\n".join(sections)


def _section(command: click.Command, context: click.Context) -> str:
    usage = " ".join(command.collect_usage_pieces(context))
    text = inspect.cleandoc(command.help or "")
    rows = [
        f"| `{options}` | {_cell(help_text)} |"
        for parameter in command.get_params(context)
        if isinstance(parameter, click.Option)
        and (record := parameter.get_help_record(context)) is not None
        for options, help_text in [record]
    ]
    table = "| option | what it does |\n|---|---|\n" + "\n".join(rows) if rows else ""
    return (
        f"### `{context.command_path}`\n\n```\n{context.command_path} {usage}\n```\n\n{text}\n\n"
        f"{table}\n"
    )


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")

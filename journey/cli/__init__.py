"""`journey`: run the pipeline's parts, manage write keys and tokens, migrate, and report.

One module per command or command group (``journey/cli/segments.py`` is ``journey segments``),
each imported only when its command runs, so `journey load` does not import the reports'
charting and `journey --help` stays quick to read. What they share is in ``common.py``.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from core import logs
from core.settings import SettingsError, from_env
from storage.store import StoreUnavailable

COMMANDS = (
    "migrate",
    "collect",
    "load",
    "up",
    "demo",
    "api",
    "report",
    "segments",
    "touchpoints",
    "alerts",
    "experiments",
    "campaigns",
    "keys",
    "tokens",
    "privacy",
    "status",
    "tail",
    "expire",
)


class Commands(click.Group):
    """The commands of ``COMMANDS``, each the same-named object of its own module."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)  # one added with main.command()
        command = getattr(importlib.import_module(f"journey.cli.{cmd_name}"), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=Commands)
@click.option("-v", "--verbose", is_flag=True, help="log at INFO level")
@click.version_option(package_name="journey", prog_name="journey")
def main(verbose: bool) -> None:
    """Journey: customer journey event tracking and analysis."""
    try:
        kind = from_env().log_format
    except SettingsError as exc:
        raise click.ClickException(f"invalid setting: {exc}") from None
    logs.configure(logging.INFO if verbose else logging.WARNING, kind)
    # one line per request is noise for the local stack; gunicorn keeps its own access log
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
    # the driver logs each failed connect with a traceback; our own message says it in one line
    logging.getLogger("clickhouse_driver").setLevel(logging.INFO if verbose else logging.ERROR)


def run() -> None:
    """The console script: errors the user can act on as one line, never a traceback (-v shows it)."""
    verbose = "-v" in sys.argv[1:2] or "--verbose" in sys.argv[1:2]
    try:
        main(standalone_mode=True)
    except StoreUnavailable as exc:
        click.echo(f"Error: ClickHouse is unreachable: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a clear message
        if verbose:
            raise
        click.echo(
            f"Error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (run with -v for details)",
            err=True,
        )
        sys.exit(1)

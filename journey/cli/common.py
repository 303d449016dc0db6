"""What the command modules share: the settings, the store a command works on, and option
values read the way the rest of Journey reads them (errors naming the option)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import click

from analyzer import durations
from analyzer.errors import SpecError
from core.extras import MissingExtra
from core.settings import Settings, SettingsError, from_env
from journey.stack import PortTaken, Stack
from storage import connect, migrations
from storage.store import Store


@contextmanager
def one_line(*errors: type[Exception]) -> Iterator[None]:
    """``errors`` (a specification's, by default) as one line naming the place, not a
    traceback."""
    caught = errors or (SpecError,)
    try:
        yield
    except caught as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def running(config: Settings) -> Iterator[Stack]:
    """The local stack started (a port in use or a part the install left out is a one-line
    error, nothing left running), stopped on the way out."""
    with one_line(PortTaken, MissingExtra):
        stack = Stack(config).start()
    try:
        yield stack
    finally:
        stack.stop()


def settings() -> Settings:
    """The settings from ``JOURNEY_*``; a bad one is a one-line error naming it."""
    try:
        return from_env()
    except SettingsError as exc:
        raise click.ClickException(f"invalid setting: {exc}") from None


def store(config: Settings) -> Store:
    """The configured store, as it is (not migrated)."""
    try:
        return connect(config)
    except RuntimeError as exc:
        if config.embedded and "lock" in str(exc).lower():
            raise click.ClickException(
                f"the embedded store at {config.chdb_path} is in use by another Journey process "
                "(`journey up`?); stop it, or configure JOURNEY_CLICKHOUSE_URL"
            ) from None
        raise click.ClickException(str(exc)) from None


def report_store() -> Store:
    """The configured store, migrated, for a command that reads or writes it; refused while
    `journey up` holds chDB (reports ask the running stack instead: local_api)."""
    config = settings()
    if config.embedded and held_by_up(config):
        raise click.ClickException(
            "`journey up` holds the embedded store; stop it to run this command, "
            "or configure JOURNEY_CLICKHOUSE_URL"
        )
    found = store(config)
    migrations.apply(found)
    return found


def shared_store(config: Settings) -> Store | None:
    """Where keys and tokens are managed from the shell: the configured ClickHouse server,
    migrated (None with the embedded default: they are local files then)."""
    if config.embedded:
        return None
    found = store(config)
    migrations.apply(found)
    return found


def held_by_up(config: Settings) -> bool:
    """True if `journey up` holds the embedded store (it writes its URL beside the data)."""
    return (config.data_dir / "up.url").is_file()


class LocalRefusal(Exception):
    """The running `journey up` refused a request: its ``message`` and the ``parameter``."""

    def __init__(self, message: str, parameter: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


def local_api(
    config: Settings, path: str, query: dict[str, list[str]] | None = None, raw: bool = False
) -> Any:
    """GET ``path`` from the API of the running `journey up`: JSON, or with ``raw`` the text.
    A refusal (400, 404) raises LocalRefusal with its message."""
    url = (config.data_dir / "up.url").read_text().strip()
    address = url + path + ("?" + urlencode(query, doseq=True) if query else "")
    try:
        with urlopen(address, timeout=300) as response:
            return response.read().decode() if raw else json.load(response)
    except HTTPError as exc:
        try:
            body = json.load(exc)
        except ValueError:
            body = {}
        raise LocalRefusal(
            body.get("message") or f"HTTP {exc.code} from {url}", body.get("parameter")
        ) from None
    except URLError as exc:
        raise click.ClickException(
            f"`journey up` should be serving {url} but is not ({exc.reason}); "
            f"if it is not running, remove {config.data_dir / 'up.url'}"
        ) from None


def duration(text: str, option: str) -> timedelta:
    """``text`` read as analyzer.durations reads every duration; errors name ``option``."""
    try:
        return durations.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def moment(text: str, option: str) -> datetime:
    """An ISO date or moment (UTC unless it says otherwise); errors name ``option``."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date like 2024-05-01", param_hint=option
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)

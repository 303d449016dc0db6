"""`journey tokens create|list|revoke` (analysts' bearer tokens) and `journey api` (the
analysts' API and dashboard on their own, for deployments with a ClickHouse server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from core.settings import Settings
from reports.output import render


def register(
    main: click.Group,
    settings: Callable[[], Settings],
    open_store: Callable[[], Any],
) -> None:
    def token_store() -> Any:
        from reports.tokens import open_tokens

        config = settings()
        if config.embedded:
            return open_tokens(config)
        from storage import migrations

        store = open_store()
        migrations.apply(store)
        return open_tokens(config, store)

    @main.group()
    def tokens() -> None:
        """Analysts' bearer tokens for the API and the dashboard (stored hashed)."""

    @tokens.command("create")
    @click.argument("name")
    def create_cmd(name: str) -> None:
        """Create a token for NAME and print it (it is shown only this once)."""
        try:
            click.echo(token_store().create(name))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    @tokens.command("list")
    def list_cmd() -> None:
        """Tokens by name and fingerprint (the start of their hash), never the tokens."""
        rows = [
            {
                "name": t.name,
                "fingerprint": t.fingerprint,
                "created": t.created_at,
                "revoked": t.revoked_at or "",
            }
            for t in token_store().list()
        ]
        click.echo(
            render(rows) if rows else "no tokens; create one with `journey tokens create NAME`"
        )

    @tokens.command("revoke")
    @click.argument("name_or_fingerprint")
    def revoke_cmd(name_or_fingerprint: str) -> None:
        """Revoke the tokens of a name, or one by its fingerprint; at once."""
        count = token_store().revoke(name_or_fingerprint)
        if not count:
            raise click.ClickException(
                f"no active token named or fingerprinted {name_or_fingerprint!r}"
            )
        click.echo(f"revoked {count} token(s)")

    @main.command("api")
    def api_cmd() -> None:
        """Serve the analysts' API (/api/v1) and dashboard (/dashboard) under gunicorn."""
        from gunicorn.app.base import BaseApplication

        config = settings()
        open_store().close()  # fails now, in one line, if the store cannot be used

        class Api(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", f"{config.api_host}:{config.api_port}")
                # chDB belongs to one process: the embedded store is served by one worker
                self.cfg.set("workers", 1 if config.embedded else config.api_workers)
                self.cfg.set("threads", 4)
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("timeout", 300)  # reports over billions of events take a while

            def load(self) -> Any:
                from reports.api import create_app
                from reports.tokens import open_tokens

                store = open_store()
                return create_app(store, open_tokens(config, None if config.embedded else store))

        Api().run()

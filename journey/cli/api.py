"""`journey api`: the analysts' API and dashboard on their own, under gunicorn (for deployments
with a ClickHouse server; `journey up` serves them beside the collector)."""

from __future__ import annotations

import os
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from core import logs, metrics
from journey.cli.common import report_store, settings
from reports.api import create_app
from reports.tokens import open_tokens


@click.command()
def api() -> None:
    """Serve the analysts' API (/api/v1) and dashboard (/dashboard) under gunicorn."""
    config = settings()
    if config.embedded:  # chDB belongs to one process; gunicorn's forked worker cannot use it
        raise click.ClickException(
            "`journey api` serves a ClickHouse server's data: set JOURNEY_CLICKHOUSE_URL. "
            "With the embedded store, `journey up` serves the API and the dashboard on the "
            "collector's port"
        )
    report_store().close()  # fails now, in one line, if the store cannot be used
    metrics.share_between_workers(config.data_dir / "metrics" / f"api-{os.getpid()}")

    class Api(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("child_exit", lambda server, worker: metrics.worker_exited(worker.pid))
            self.cfg.set("logconfig_dict", logs.gunicorn_config(config.log_format))
            self.cfg.set("bind", f"{config.api_host}:{config.api_port}")
            self.cfg.set("workers", config.api_workers)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 300)  # reports over billions of events take a while

        def load(self) -> Any:
            store = report_store()
            return create_app(store, open_tokens(config, None if config.embedded else store))

    Api().run()

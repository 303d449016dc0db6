"""`journey collect`: the collector under gunicorn."""

from __future__ import annotations

import logging
import os
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from collector.app import create_app
from core import logs, metrics
from core.kafka import ensure_topics
from core.settings import Settings, SettingsError
from journey.cli.common import settings


@click.command()
def collect() -> None:
    """Serve the collector under gunicorn (JOURNEY_COLLECTOR_WORKERS x _THREADS)."""
    config = settings()
    _check_kafka(config)
    # every worker's figures add up in one scrape of /metrics
    metrics.share_between_workers(config.data_dir / "metrics" / f"collect-{os.getpid()}")

    class Collector(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{config.collector_host}:{config.collector_port}")
            self.cfg.set("workers", config.collector_workers)
            self.cfg.set("threads", config.collector_threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("child_exit", lambda server, worker: metrics.worker_exited(worker.pid))
            self.cfg.set("logconfig_dict", logs.gunicorn_config(config.log_format))

        def load(self) -> Any:
            return create_app(config)  # built in each worker, after the fork

    Collector().run()


def _check_kafka(config: Settings) -> None:
    """Stop start-up on what waiting cannot mend (refused credentials, a missing topic that
    Journey may not create); brokers that are down are no reason: the collector spools."""
    try:
        ensure_topics(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - unreachable now; the spool takes events meanwhile
        logging.getLogger(__name__).warning("Kafka unreachable at start-up (%s); spooling", exc)

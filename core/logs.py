"""How every Journey process logs: lines of text for a person at a terminal, or one JSON object
per line (``JOURNEY_LOG_FORMAT=json``) for a log shipper (Loki, Elasticsearch, CloudWatch),
with the time, level, logger, message and any traceback as fields."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT)


def configure(level: int, kind: str) -> None:
    """The root logger's level and format for this process (``kind``: text or json)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def gunicorn_config(kind: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict`` for ``kind``: its error log and this process's root
    logger (at the level ``main`` chose) in that format. No access log, as without it: its
    user field would be the write key a request authenticated with."""
    generic = {"()": JsonFormatter} if kind == "json" else {"format": TEXT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"generic": generic},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "generic",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": logging.getLevelName(logging.getLogger().level), "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }

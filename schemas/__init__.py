"""Versioned JSON Schemas, shared by the collector (inbound messages) and the loader (topic events).

Names follow SchemaVer, ``vendor/name/MODEL-REVISION-ADDITION``: a file is never edited once
released; a change adds a new file. ADDITION: new optional fields, every old message still valid.
REVISION: some old messages may fail. MODEL: no old message is valid.
Examples live under ``examples/<vendor>/<name>/`` as ``valid_*.json`` and ``invalid_*.json``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

ROOT = Path(__file__).parent

INBOUND_MESSAGE = "segment/message/1-0-0"
EVENT = "journey/event/1-0-0"
EVENT_BATCH = "journey/event_batch/1-0-0"
DEAD_LETTER = "journey/dead_letter/1-0-0"


class SchemaViolation(ValueError):
    """A payload does not match its schema; the message names the field."""


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The schema document ``vendor/name/version``."""
    path = ROOT / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no schema {name!r}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@functools.cache
def _compiled(name: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load(name))


def validate(name: str, payload: Any) -> None:
    """Raise SchemaViolation, with the offending field in the message, unless payload is valid."""
    try:
        _compiled(name)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        name = exc.name or "data"
        field = name.removeprefix("data").lstrip(".") or "message"
        detail = (exc.message or "is invalid").removeprefix(name).strip()
        raise SchemaViolation(f"{field} {detail}") from None


def examples(name: str) -> list[tuple[str, Any]]:
    """(file name, payload) of every example of schema ``vendor/name`` (any version)."""
    folder = (
        ROOT / "examples" / name.rsplit("/", 1)[0]
        if name.count("/") == 2
        else ROOT / "examples" / name
    )
    return [(p.name, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]

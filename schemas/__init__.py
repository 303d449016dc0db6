"""Versioned JSON Schemas, shared by the collector (inbound messages) and the loader (topic events).

Names follow SchemaVer, ``vendor/name/MODEL-REVISION-ADDITION``: a file is never edited once
released; a change adds a new file. ADDITION: new optional fields, every old message still valid.
REVISION: some old messages may fail. MODEL: no old message is valid.
Examples live under ``examples/<vendor>/<name>/`` as ``valid_*.json`` and ``invalid_*.json``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

ROOT = Path(__file__).parent

INBOUND_MESSAGE = "segment/message/1-1-0"
EVENT = "journey/event/1-0-0"
EVENT_BATCH = "journey/event_batch/1-1-0"
# What the loader reads: 1-1-0 added ``valid_against`` (the collector's batches say it).
EVENT_BATCHES = ("journey/event_batch/1-0-0", EVENT_BATCH)
DEAD_LETTER = "journey/dead_letter/1-0-0"
# The documents people write (YAML or JSON), published for editors; their readers are
# analyzer/segments/definition.py, alerts/rules.py and analyzer/experiments/definition.py,
# which the examples hold to these.
SEGMENT_DOCUMENT = "journey/segment_document/1-0-0"
ALERT_DOCUMENT = "journey/alert_document/1-0-1"  # 1-0-1: rules on experiments
EXPERIMENT_DOCUMENT = "journey/experiment_document/1-0-0"


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


def _fast_check(name: str) -> Callable[[Any], bool] | None:
    """A quick yes/no check compiled from a flat object schema (string, object, enum and const
    properties; additionalProperties false), or None where the schema is not of that shape. A
    "no" is explained by the full validator, so both always agree on what is valid."""
    schema = load(name)
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        return None
    definitions = schema.get("definitions", {})
    required = frozenset(schema.get("required", []))
    strings: dict[str, tuple[int, int, Any]] = {}  # key -> (min, max, pattern search or None)
    choices: dict[str, frozenset[Any]] = {}  # enum and const
    objects: set[str] = set()
    for prop, spec in schema["properties"].items():
        if "$ref" in spec:
            spec = definitions[spec["$ref"].rsplit("/", 1)[1]]
        keys = set(spec) - {"description", "title"}
        if keys == {"const"} or keys == {"enum"}:
            choices[prop] = frozenset(spec["enum"] if "enum" in spec else [spec["const"]])
        elif spec.get("type") == "object" and keys == {"type"}:
            objects.add(prop)
        elif spec.get("type") == "string" and keys <= {"type", "minLength", "maxLength", "pattern"}:
            search = re.compile(spec["pattern"]).search if "pattern" in spec else None
            strings[prop] = (spec.get("minLength", 0), spec.get("maxLength", 1 << 62), search)
        else:
            return None
    allowed = frozenset(strings) | frozenset(choices) | frozenset(objects)

    def fast(payload: Any) -> bool:
        if type(payload) is not dict or not required <= payload.keys() <= allowed:
            return False
        for key, value in payload.items():
            limits = strings.get(key)
            if limits is not None:
                if type(value) is not str or not limits[0] <= len(value) <= limits[1]:
                    return False
                if limits[2] is not None and not limits[2](value):
                    return False
            elif key in objects:
                if type(value) is not dict:
                    return False
            elif type(value) is not str or value not in choices[key]:
                return False
        return True

    return fast


_FAST: dict[str, Callable[[Any], bool] | None] = {}


def validate(name: str, payload: Any) -> None:
    """Raise SchemaViolation, with the offending field in the message, unless payload is valid."""
    if name not in _FAST:
        _FAST[name] = _fast_check(name)
    fast = _FAST[name]
    if fast is not None and fast(payload):
        return
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

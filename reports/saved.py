"""Saved reports: a report's kind and parameters under a name (table ``saved_reports``, by
version), to run again from the API, the dashboard (``/dashboard#saved=NAME`` links to one)
or the CLI. A report is checked by running it before it is saved."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reports.analyses import REPORTS, Result, run
from reports.params import ParamError, Params
from storage import versioned
from storage.store import Store

TABLE = "saved_reports"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")


@dataclass(frozen=True)
class Saved:
    name: str
    kind: str
    params: dict[str, list[str]]
    version: int
    saved_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "params": self.params,
            "version": self.version,
            "saved_at": self.saved_at.isoformat(),
        }


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ParamError(
            "name", "1 to 100 letters, digits, '_', '.' or '-', from a letter or digit"
        )
    return name


def listing(store: Store) -> list[Saved]:
    out = []
    for name, v in versioned.latest(store, TABLE).items():
        doc = json.loads(v.text)
        out.append(Saved(name, doc["kind"], doc["params"], v.version, v.created_at))
    return out


def get(store: Store, name: str) -> Saved | None:
    return next((s for s in listing(store) if s.name == check_name(name)), None)


def save(
    store: Store,
    name: str,
    kind: str,
    params: dict[str, list[str]],
    longest_days: int | None = None,
) -> tuple[Saved, Result]:
    """Run the report (so a broken one is refused, periods up to ``longest_days``) and keep it
    under ``name``."""
    check_name(name)
    if kind not in REPORTS:
        raise ParamError("kind", f"{kind!r} is not one of {', '.join(REPORTS)}")
    result = run(store, kind, Params(params), longest_days=longest_days)
    text = json.dumps({"kind": kind, "params": params}, sort_keys=True)
    versioned.save(store, TABLE, {name: text})
    saved = get(store, name)
    assert saved is not None
    return saved, result


def drop(store: Store, name: str) -> bool:
    return versioned.drop(store, TABLE, check_name(name))

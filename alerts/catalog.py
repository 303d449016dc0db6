"""Where alert rules live: the ``alert_rules`` table, one row per version (storage.versioned)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.rules import Rule, RuleError, dumps, parse_rule
from storage import versioned
from storage.store import Store

TABLE = "alert_rules"


@dataclass(frozen=True)
class StoredRule:
    rule: Rule
    version: int


def stored(store: Store) -> dict[str, StoredRule]:
    """The latest version of every defined rule, by name. Rules were checked when defined;
    private webhook targets are checked again at each delivery."""
    return {
        name: StoredRule(parse_rule(json.loads(v.text), name, allow_private=True), v.version)
        for name, v in versioned.latest(store, TABLE).items()
    }


def define(store: Store, rules: Sequence[Rule]) -> dict[str, int]:
    """Store each rule unless its latest version is the same; name -> version."""
    return versioned.save(store, TABLE, {r.name: dumps(r) for r in rules})


def drop(store: Store, name: str) -> None:
    """Stop a rule: a version with no definition. Its history is kept."""
    if not versioned.drop(store, TABLE, name):
        raise RuleError(f"name: no alert rule {name!r}")

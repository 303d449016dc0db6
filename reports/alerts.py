"""Alert readings for analysts: the rules with the state of their scopes, and a rule's history
of evaluations and deliveries."""

from __future__ import annotations

from typing import Any

from reports.analyses import NotFound, Result
from storage.store import Store


def listing(store: Store) -> Result:
    """Defined rules, what they watch, and which of their scopes are firing."""
    from alerts import catalog
    from alerts.engine import states as current

    rows = []
    for name, s in catalog.stored(store).items():
        states = current(store, name)
        firing = sorted(scope for scope, st in states.items() if st.state == "firing")
        rows.append(
            {
                "rule": name,
                "version": s.version,
                "watches": s.rule.what,
                "scope": s.rule.scope,
                "condition": s.rule.condition.kind,
                "every": str(s.rule.every),
                "scopes_seen": len(states),
                "firing": ", ".join(firing),
            }
        )
    return Result("alerts", "Alert rules", rows, rows)


def _known(store: Store, name: str, rows: list[dict[str, Any]]) -> None:
    """Nothing for a rule that is not defined: unknown, unless it was dropped with history."""
    from alerts import catalog

    if not rows and name not in catalog.stored(store):
        raise NotFound(f"no alert rule {name!r}")


def history(store: Store, name: str, limit: int = 100, changes_only: bool = False) -> Result:
    """The rule's evaluations, newest first (or only its state changes and notices)."""
    from alerts.engine import history as read

    rows = read(store, name, limit, changes_only=changes_only)
    _known(store, name, rows)
    return Result("alert_history", f"Alert {name}: evaluations", rows, rows)


def deliveries(store: Store, name: str, limit: int = 100) -> Result:
    """The deliveries of the rule's notices, newest first, good or failed."""
    from alerts.engine import deliveries as read

    rows = read(store, name, limit)
    _known(store, name, rows)
    return Result("alert_deliveries", f"Alert {name}: deliveries", rows, rows)

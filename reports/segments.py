"""Segment readings for analysts: the defined segments with their latest refresh, and one
segment's report (sizes over time, movement, quality, RFM value)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from analyzer.segments.report import SegmentReport
from reports.analyses import NotFound, Result
from storage.store import Store


def listing(store: Store) -> Result:
    """Defined segments with their latest refresh, members and schedule."""
    from analyzer.segments import catalog
    from analyzer.segments.report import refreshes

    rows = []
    for name, s in catalog.stored(store).items():
        history = refreshes(store, name)
        latest = json.loads(history[-1][3]) if history else {}
        members = sum(latest.get("members", {}).values())
        base = history[-1][2] if history else 0
        rows.append(
            {
                "segment": name,
                "kind": s.definition.kind,
                "category": s.definition.category,
                "version": s.version,
                "refreshed": datetime.fromtimestamp(history[-1][0] / 1000, UTC).strftime(
                    "%Y-%m-%d %H:%M"
                )
                if history
                else "never",
                "members": members,
                "share": members / base if base else 0.0,
                "schedule": str(s.definition.refresh or ""),
            }
        )
    return Result("segments", "Segments", rows, rows)


def segment(store: Store, name: str, with_quality: bool = True) -> Result:
    """Everything about one segment as of its latest refresh; NotFound if it is not defined."""
    from analyzer.segments import catalog
    from analyzer.segments.report import report

    if name not in catalog.stored(store):
        raise NotFound(f"no segment {name!r}")
    return as_result(report(store, name, with_quality=with_quality))


def as_result(found: SegmentReport) -> Result:
    """A segment report as a report result: its sizes at each refresh are the rows."""
    data: dict[str, Any] = found.as_dict()
    rows = [{"group": group, **vars(p)} for group, points in found.sizes.items() for p in points]
    return Result("segment", f"Segment {found.segment}", data, rows)

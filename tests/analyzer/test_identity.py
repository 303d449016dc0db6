"""Identity stitching against the reference: before sign-up, other devices, aliases, whatever
the order the links were loaded in; the links table agrees with a recount from the events."""

from __future__ import annotations

import pytest

from analyzer.identity import with_person
from analyzer.timeline import timelines
from storage.store import Store
from tests.analyzer import reference
from tests.analyzer.logs import load, random_log

pytestmark = pytest.mark.integration


def test_identity_matches_the_reference(store: Store) -> None:
    events = load(store, random_log(seed=11), seed=11)
    got = dict(
        store.execute(f"SELECT event_id, person_id FROM {with_person(store.database, ['event'])}")
    )
    df = reference.persons(events)
    expected = dict(zip(df["event_id"], df["person_id"], strict=True))
    assert got == expected
    assert len(set(expected.values())) < len({e["anonymous_id"] for e in events})  # stitched


def test_timelines_hold_each_event_once_in_order(store: Store) -> None:
    events = load(store, random_log(seed=12), seed=12)
    sql = (
        "SELECT person_id, times, ids FROM "
        f"{timelines(store.database, {'ids': 'event_id'}, '1')} ORDER BY person_id"
    )
    got = {p: (list(t), list(i)) for p, t, i in store.execute(sql)}
    expected = {
        p: ([r.timestamp_ms for r in rows], [r.event_id for r in rows])
        for p, rows in reference.journeys(events).items()
    }
    assert got == expected

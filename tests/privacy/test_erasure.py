"""Right to erasure on the server and on chDB: after `erase`, nothing of the person is left in
any table or any report, everyone else's numbers are untouched, and a replay cannot bring the
person back through the loader."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from analyzer.summary import report as summary_report
from privacy.erasure import ErasureError, digest, erase, person_ids, requests
from privacy.suppression import Suppression
from reports import analyses, segments
from reports.params import Params
from storage import migrations
from storage.store import Store
from tests.analyzer import reference
from tests.analyzer.segments.bases import NOW, customers, load
from tests.conftest import WITH_CLUSTER, drop_store, open_store
from tests.helpers import insert_events

pytestmark = pytest.mark.integration

DOC = {
    "version": 1,
    "segments": [
        {"name": "buyers", "rule": {"attribute": "events", "gt": 1}},
        {"name": "value", "rfm": {}},
    ],
}
SINCE = (NOW - timedelta(days=170)).date().isoformat()
UNTIL = (NOW + timedelta(days=1)).date().isoformat()


def every_report(store: Store) -> str:
    """Every report an analyst can read, as one JSON text."""
    period = {"since": SINCE, "until": UNTIL}
    funnel = {"step": ("Product Viewed", "Order Completed"), **period}
    out: dict[str, Any] = {"summary": summary_report(store)}
    runs = {
        "funnel": Params.of(**funnel, breakdown="segment:buyers", trend="week"),
        "paths": Params.of(**period),
        "painpoints": Params.of(**funnel, segment="segment=buyers"),
        "retention": Params.of(
            start_event="Product Viewed", return_event="Product Viewed", **period
        ),
        "lifecycle": Params.of(event="Product Viewed", **period),
    }
    for kind, params in runs.items():
        out[kind] = analyses.run(store, kind, params, NOW).data
    out["events"] = analyses.event_names(store, Params.of(**period), NOW).data
    out["segments"] = [segments.segment(store, name).data for name in ("buyers", "value")]
    from analyzer.funnels import FunnelSpec
    from analyzer.funnels.report import dropped
    from analyzer.vocabulary import Step

    spec = FunnelSpec(
        steps=(Step("Product Viewed"), Step("Order Completed")),
        date_from=NOW - timedelta(days=170),
        date_to=NOW,
        window=timedelta(days=30),
    )
    out["dropped"] = [asdict(d) for d in dropped(store, spec, 1, limit=100_000)]
    return json.dumps(out, default=str)


def anywhere(store: Store, needles: list[str]) -> dict[str, int]:
    """Rows of any table of the database with any String column holding one of ``needles``."""
    found: dict[str, int] = {}
    tables = store.execute(
        "SELECT table, groupArray(name) FROM system.columns WHERE database = %(db)s "
        "AND type = 'String' GROUP BY table",
        {"db": store.database},
    )
    for table, columns in tables:
        if str(table).startswith(".inner") or table in ("suppressed_ids", "privacy_requests"):
            continue
        condition = " OR ".join(
            f"position({c}, %(n{i})s) > 0" for c in columns for i in range(len(needles))
        )
        params = {f"n{i}": n for i, n in enumerate(needles)}
        count = store.execute(
            f"SELECT count() FROM {store.database}.{table} WHERE {condition}", params
        )[0][0]
        if count:
            found[str(table)] = int(count)
    return found


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def shop(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[tuple[Store, list[Any]]]:
    store = open_store(request.param, request, chdb_path)
    events = customers(8, people=120)
    load(store, events, 8)
    migrations.apply(store)
    catalog.define(store, parse_document(DOC))
    refresh(store, ["buyers", "value"], at=NOW)
    yield store, events
    drop_store(store)


def test_nothing_of_the_person_remains_anywhere(shop: tuple[Store, list[Any]]) -> None:
    store, events = shop
    people = reference.persons(events)
    per_person = people.groupby("person_id").event_id.nunique()
    two_devices = people[people.anonymous_id != ""].groupby("person_id").anonymous_id.nunique()
    before = every_report(store)
    # someone on two devices whom the reports name (who dropped), so links, segments hold them
    target = next(p for p in two_devices[two_devices == 2].index if f'"{p}"' in before)
    theirs = people[people.person_id == target]
    ids = sorted({*theirs.anonymous_id, *theirs.user_id} - {""})
    assert len(ids) >= 3
    assert anywhere(store, ids)
    total = summary_report(store)["events"]

    # erase by one of the person's anonymous ids: the whole person goes
    anonymous = sorted(set(theirs.anonymous_id) - {""})[0]
    done = erase(store, "anonymous_id", anonymous, operator="test")
    assert done.person_id == target and sorted(done.ids) == ids
    assert done.rows_deleted["events"] >= per_person[target]  # replayed copies too
    assert done.rows_deleted["identity_links"] >= 2 and done.rows_deleted["segment_members"] >= 1
    assert done.rows_deleted["events"] > 0
    assert set(done.remaining.values()) == {0}

    after = every_report(store)
    for identity in ids:
        assert f'"{identity}"' not in after
    assert anywhere(store, ids) == {}
    assert summary_report(store)["events"] == total - per_person[target]

    recorded = requests(store)
    assert recorded[0]["request_id"] == done.request_id
    assert recorded[0]["id_digest"] == digest(anonymous) and recorded[0]["remaining"] == 0
    assert anonymous not in json.dumps(recorded)  # the record keeps digests, not the ids

    # a replay of the person's events is dropped by the loader's suppression
    suppression = Suppression(store, 0, 1)
    suppression.refresh()
    rows = [(anonymous, ""), ("", ids[-1]), ("someone-else", "")]
    assert suppression.keep(rows) == [("someone-else", "")]

    # everyone else is untouched: another person can still be found and erased
    others = [p for p in per_person.index if p != target]
    assert person_ids(store, "user_id", others[0])[0] == others[0]


def test_shared_device_and_alias_chain(store: Store) -> None:
    migrations.apply(store)
    cols = ["event_id", "type", "event", "anonymous_id", "user_id", "previous_id", "timestamp_ms"]
    t = 1_700_000_000_000
    rows = [
        ("e1", "track", "View", "dev-1", "", "", t),  # before sign-up: the target's
        ("e2", "identify", "", "dev-1", "old-name", "", t + 1),  # dev-1 -> old-name
        ("e3", "alias", "", "", "new-name", "old-name", t + 2),  # old-name -> new-name
        ("e4", "track", "Buy", "", "new-name", "", t + 3),
        ("e5", "identify", "", "dev-1", "flatmate", "", t + 4),  # same laptop, another person
        ("e6", "track", "View", "dev-1", "flatmate", "", t + 5),
        ("e7", "track", "View", "dev-9", "", "", t + 6),  # a bystander
    ]
    insert_events(store, [*cols, "timestamp"], [(*r, r[-1] // 1000) for r in rows])
    assert person_ids(store, "user_id", "old-name") == (
        "new-name",
        ["dev-1", "new-name", "old-name"],
    )
    done = erase(store, "user_id", "old-name")
    assert done.rows_deleted["events"] == 4
    left = store.execute(f"SELECT event_id FROM {store.database}.events ORDER BY event_id")
    assert [r[0] for r in left] == ["e5", "e6", "e7"]  # the flatmate's events stay theirs


@pytest.mark.engines("server", "embedded")  # refused before anything is read or written
@pytest.mark.parametrize("value", ["", "   ", "x" * 1001, "a\0b"])
def test_bad_ids_are_refused_naming_the_option(store: Store, value: str) -> None:
    migrations.apply(store)
    with pytest.raises(ErasureError, match="--user-id"):
        erase(store, "user_id", value)

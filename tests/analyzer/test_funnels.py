"""Funnels and identity against an independent reference written in plain Python/pandas, on random
event logs with replayed duplicates, ties in time, out-of-order arrival and identify in the
middle of journeys; and against ClickHouse's own windowFunnel where the semantics match. The
same tests run on the ClickHouse 18.16 server and on chDB."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from analyzer.funnels import Filter, FunnelSpec, Step, run
from analyzer.funnels.spec import SpecError
from analyzer.identity import with_person
from storage import migrations
from storage.store import Store

pytestmark = pytest.mark.integration

COLUMNS = [
    "event_id",
    "type",
    "event",
    "anonymous_id",
    "user_id",
    "previous_id",
    "timestamp",
    "timestamp_ms",
    "page_path",
    "properties",
    "loaded_at",
]
T0 = 1_700_000_000_000  # ms
NAMES = ["View", "Cart", "Buy", "Other"]
PATHS = ["/p/1", "/p/2", "/home"]


def random_log(seed: int, persons: int = 80, ties: bool = True) -> list[dict[str, Any]]:
    """Events of people on one or two devices, some identifying mid-journey, a few aliased."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    n = 0

    def add(kind: str, name: str, anon: str, user: str, ms: int, previous: str = "") -> None:
        nonlocal n
        n += 1
        events.append(
            {
                "event_id": f"e{seed}-{n:05d}",
                "type": kind,
                "event": name,
                "anonymous_id": anon,
                "user_id": user,
                "previous_id": previous,
                "timestamp": ms // 1000,
                "timestamp_ms": ms,
                "page_path": rng.choice(PATHS),
                "properties": "{}",
            }
        )

    for p in range(persons):
        devices = [f"anon-{seed}-{p}-{d}" for d in range(rng.choice([1, 1, 2]))]
        user = f"user-{seed}-{p}" if rng.random() < 0.6 else ""
        identified_at = T0 + rng.randrange(0, 6 * 3600) * 1000 + p  # unique: no tie on the link
        for device in devices:
            for _ in range(rng.randint(1, 12)):
                if ties:
                    ms = T0 + rng.randrange(0, 8 * 3600 // 10) * 10_000  # 10 s grid: many ties
                else:
                    ms = (
                        T0 + rng.randrange(0, 8 * 3600 // 7) * 7_000
                    )  # distinct enough for windowFunnel
                on_user = user if user and ms > identified_at else ""
                add("track", rng.choice(NAMES), device, on_user, ms)
            if user:
                add("identify", "", device, user, identified_at + devices.index(device))
        if user and rng.random() < 0.15:
            renamed = f"renamed-{seed}-{p}"
            add("alias", "", "", renamed, identified_at + 50_000, previous=user)
            add("track", "Buy", "", renamed, identified_at + 60_000)
    return events


def load(store: Store, events: list[dict[str, Any]], seed: int) -> None:
    """Insert out of order, in several blocks, with 15% of the rows replayed."""
    migrations.apply(store)
    rng = random.Random(seed)
    rows = [tuple(e[c] for c in COLUMNS[:-1]) + (1,) for e in events]
    rows += [r[:-1] + (2,) for r in rng.sample(rows, len(rows) * 15 // 100)]
    rng.shuffle(rows)
    for i in range(0, len(rows), 97):
        store.insert("events", COLUMNS, rows[i : i + 97])


def reference_persons(events: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(events).drop_duplicates("event_id")
    pairs = [
        (r.anonymous_id, r.user_id, r.timestamp_ms)
        for r in df.itertuples()
        if r.anonymous_id and r.user_id and r.anonymous_id != r.user_id
    ]
    pairs += [
        (r.previous_id, r.user_id, r.timestamp_ms)
        for r in df.itertuples()
        if r.type == "alias" and r.previous_id and r.user_id and r.previous_id != r.user_id
    ]
    links: dict[str, tuple[int, str]] = {}
    for source, target, at in pairs:
        if source not in links or at < links[source][0]:
            links[source] = (at, target)

    def person(row: Any) -> str:
        key = row.user_id or row.anonymous_id
        for _ in range(2):
            key = links[key][1] if key in links else key
        return key

    df["person_id"] = [person(r) for r in df.itertuples()]
    return df


def matches(step: Step, row: Any) -> bool:
    if row.event != step.event:
        return False
    for f in step.filters:
        value = getattr(row, f.field)
        if f.op == "eq":
            ok = value == f.value
        elif f.op == "neq":
            ok = value != f.value
        elif f.op == "in":
            ok = value in f.value
        else:
            ok = re.search(f.value, value) is not None
        if not ok:
            return False
    return True


def reference_funnel(
    events: list[dict[str, Any]], spec: FunnelSpec
) -> list[tuple[int, float | None, float | None]]:
    """(people, median s, p90 s) per step: the greedy ordered funnel, written plainly."""
    df = reference_persons(events)
    lo, hi = int(spec.date_from.timestamp() * 1000), int(spec.date_to.timestamp() * 1000)
    window = int(spec.window.total_seconds() * 1000)
    until = int((spec.date_to + spec.window).timestamp()) + 1
    df = df[(df.timestamp >= int(spec.date_from.timestamp())) & (df.timestamp < until)]
    n = len(spec.steps)
    levels: list[int] = []
    gaps: list[list[int]] = [[] for _ in range(n)]
    for _, group in df.groupby("person_id"):
        rows = sorted(
            (r for r in group.itertuples() if any(matches(s, r) for s in spec.steps)),
            key=lambda r: (r.timestamp_ms, r.event_id),
        )
        flags = [[matches(s, r) for r in rows] for s in spec.steps]
        starts = [i for i, r in enumerate(rows) if flags[0][i] and lo <= r.timestamp_ms < hi]
        best: list[int] | None = None
        for s in starts:
            path = [s]
            for k in range(1, n):
                nxt = next(
                    (
                        j
                        for j in range(path[-1] + 1, len(rows))
                        if flags[k][j] and rows[j].timestamp_ms <= rows[s].timestamp_ms + window
                    ),
                    None,
                )
                if nxt is None:
                    break
                path.append(nxt)
            if best is None or len(path) > len(best):
                best = path
        if best is None:
            continue
        levels.append(len(best))
        for k in range(1, len(best)):
            gaps[k].append(rows[best[k]].timestamp_ms - rows[best[k - 1]].timestamp_ms)
    out = []
    for k in range(n):
        people = sum(1 for lv in levels if lv >= k + 1)
        g = sorted(gaps[k])
        out.append(
            (
                people,
                g[int(0.5 * len(g))] / 1000 if g else None,
                g[int(0.9 * len(g))] / 1000 if g else None,
            )
        )
    return out


SPECS = [
    FunnelSpec(
        steps=(Step("View"), Step("Cart"), Step("Buy")),
        window=timedelta(hours=1),
        date_from=datetime.fromtimestamp(T0 / 1000, UTC),
        date_to=datetime.fromtimestamp(T0 / 1000 + 8 * 3600, UTC),
    ),
    FunnelSpec(
        steps=(
            Step("View", (Filter("page_path", "match", r"^/p/\d$"),)),
            Step("Cart", (Filter("page_path", "in", ["/p/1", "/home"]),)),
            Step("View"),
            Step("Buy"),
        ),
        window=timedelta(hours=3),
        date_from=datetime.fromtimestamp(T0 / 1000 + 3600, UTC),
        date_to=datetime.fromtimestamp(T0 / 1000 + 5 * 3600, UTC),
    ),
    FunnelSpec(
        steps=(Step("Other", (Filter("page_path", "neq", "/home"),)), Step("Buy")),
        window=timedelta(hours=2),
        date_from=datetime.fromtimestamp(T0 / 1000, UTC),
        date_to=datetime.fromtimestamp(T0 / 1000 + 8 * 3600, UTC),
    ),
]


def test_identity_matches_the_reference(store: Store) -> None:
    events = random_log(seed=11)
    load(store, events, seed=11)
    got = dict(
        store.execute(f"SELECT event_id, person_id FROM {with_person(store.database, ['event'])}")
    )
    expected = dict(
        zip(*(reference_persons(events)[c] for c in ("event_id", "person_id")), strict=True)
    )
    assert got == expected
    assert len(set(expected.values())) < len(
        {e["anonymous_id"] for e in events}
    )  # stitching happened


@pytest.mark.parametrize("spec_index", range(len(SPECS)))
@pytest.mark.parametrize("seed", [1, 2])
def test_ordered_funnel_matches_the_reference(store: Store, seed: int, spec_index: int) -> None:
    events = random_log(seed)
    load(store, events, seed)
    spec = SPECS[spec_index]
    got = [
        (r.people, r.median_seconds_from_previous, r.p90_seconds_from_previous)
        for r in run(store, spec)
    ]
    expected = reference_funnel(events, spec)
    assert got == expected
    assert expected[0][0] > 10 and expected[1][0] > 0  # the case is not trivial


def test_levels_agree_with_clickhouse_windowfunnel(store: Store) -> None:
    events = random_log(seed=5, ties=False)
    load(store, events, seed=5)
    spec = FunnelSpec(
        steps=(Step("View"), Step("Cart"), Step("Buy")),
        window=timedelta(seconds=3603),
        date_from=datetime.fromtimestamp(T0 / 1000 - 1, UTC),
        date_to=datetime.fromtimestamp(T0 / 1000 + 9 * 3600, UTC),
    )
    ours = [r.people for r in run(store, spec)]
    src = with_person(store.database, ["event", "timestamp"])
    rows = store.execute(
        f"SELECT level, count() FROM (SELECT person_id, windowFunnel(3603)(timestamp, event = 'View', "
        f"event = 'Cart', event = 'Buy') AS level FROM {src} GROUP BY person_id) WHERE level > 0 GROUP BY level"
    )
    by_level = dict(rows)
    theirs = [sum(c for lv, c in by_level.items() if lv >= k) for k in (1, 2, 3)]
    assert ours == theirs


def test_bad_specs_name_the_field() -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    cases = [
        (FunnelSpec(steps=(Step("A"),), date_from=day, date_to=day + timedelta(days=1)), "steps"),
        (
            FunnelSpec(steps=(Step("A"), Step("")), date_from=day, date_to=day + timedelta(days=1)),
            r"steps\[1\]\.event",
        ),
        (
            FunnelSpec(
                steps=(Step("A", (Filter("password", "eq", "x"),)), Step("B")),
                date_from=day,
                date_to=day + timedelta(days=1),
            ),
            r"steps\[0\]\.filters\[0\]\.field",
        ),
        (
            FunnelSpec(
                steps=(Step("A", (Filter("page_path", "match", "("),)), Step("B")),
                date_from=day,
                date_to=day + timedelta(days=1),
            ),
            "regular expression",
        ),
        (
            FunnelSpec(
                steps=(Step("A"), Step("B")), date_from=day, date_to=day, window=timedelta(days=1)
            ),
            "date_from",
        ),
        (
            FunnelSpec(
                steps=(Step("A"), Step("B")),
                date_from=day,
                date_to=day + timedelta(days=1),
                window=timedelta(days=365),
            ),
            "window",
        ),
    ]
    for spec, message in cases:
        with pytest.raises(SpecError, match=message):
            spec.validate()


def test_cli_report_funnel_json_matches_the_python_api(clickhouse_server: Any) -> None:
    import json
    import uuid

    from click.testing import CliRunner

    from journey.cli import main
    from journey.settings import parse_clickhouse_url
    from storage.server import ServerStore

    database = f"t_{uuid.uuid4().hex[:10]}"
    store = ServerStore(parse_clickhouse_url(clickhouse_server.url), database=database)
    events = random_log(seed=3)
    load(store, events, seed=3)
    url = clickhouse_server.url.rsplit("/", 1)[0] + f"/{database}"
    result = CliRunner().invoke(
        main,
        [
            "report",
            "funnel",
            "--step",
            "View",
            "--step",
            "Cart",
            "--step",
            "Buy",
            "--window",
            "1h",
            "--since",
            "2023-11-14T22:13:20+00:00",
            "--until",
            "2023-11-15T06:13:20+00:00",
            "--format",
            "json",
        ],
        env={"JOURNEY_CLICKHOUSE_URL": url},
    )
    assert result.exit_code == 0, result.output
    got = [(r["people"], r["median_seconds_from_previous"]) for r in json.loads(result.output)]
    expected = [(p, m) for p, m, _ in reference_funnel(events, SPECS[0])]
    assert got == expected
    store.execute(f"DROP DATABASE {database}")

"""Analytics on 10 million demo events in chDB: a 4-step funnel (7-day window) broken down by
5 traffic sources, and the top 20 paths; side by side with the pandas reference of the tests
(tests/analyzer/reference.py) on the same data.

Events come from the demo's visitor model (journey.demo), enriched by the collector's own code
and turned into rows by the loader's, then written to chDB in Parquet blocks. Each size of data
set is kept under bench/.data/ (not committed) and reused by later runs.

The reference holds every event as a Python object and loops over people: on 10 M events it
outgrows this machine's 23 GB, so it is compared on a smaller data set of its own:

    python bench/analytics.py [--events 10000000] [--rounds 3]
    python bench/analytics.py --events 1000000 --reference

Past 10 M (the scale point, ``--events 100000000``), generating every visitor in Python would
take this machine hours, so the larger set is the 10 M one and copies of it, each copy's
visitors, users and events under ids of their own (``-c1``, ``-c2``...): ten times the people
doing what the 10 M set's people do, identity links and all (the links are folded in at insert).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.funnels import FunnelSpec, analyze  # noqa: E402
from analyzer.paths import PathSpec, top_paths  # noqa: E402
from analyzer.vocabulary import Breakdown, Filter, Step  # noqa: E402
from collector.enrich import RequestInfo, build_event  # noqa: E402
from journey import demo  # noqa: E402
from loader.decode import COLUMNS, to_row  # noqa: E402
from storage import migrations  # noqa: E402
from storage.embedded import EmbeddedStore  # noqa: E402

DATA = Path(__file__).resolve().parent / ".data" / "chdb-analytics"  # 10 M; other sizes: -N
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # fixed, so every run builds the same data set
STEPS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
CLEAN = ((r"^/product/[^/]+$", "/product/:id"),)


def _chunk(args: tuple[int, int, str]) -> tuple[str, int]:
    """Demo visitors of one seed, as loader rows, in a Parquet file."""
    visitors, seed, folder = args
    rng = random.Random(seed)
    rows = []
    for _ in range(visitors):
        visitor = demo._visitor(rng)
        visitor.anonymous_id = f"{rng.getrandbits(64):016x}-{seed:04d}"
        for message in demo._in_the_past(list(demo.journey_of(visitor, rng, NOW)), NOW):
            message["messageId"] = f"{rng.getrandbits(96):024x}"
            context = message["context"]
            request = RequestInfo(
                received_at=NOW,
                source="demo",
                ip=context.pop("ip"),
                user_agent=context.pop("userAgent"),
            )
            rows.append(to_row(build_event(message, request)))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["loaded_at"] = int(NOW.timestamp())
    path = Path(folder) / f"chunk-{seed:04d}.parquet"
    frame.to_parquet(path, index=False)
    return str(path), len(frame)


def build(store: EmbeddedStore, events: int) -> None:
    migrations.apply(store)
    (have,) = store.execute(f"SELECT count() FROM {store.database}.events")[0]
    if have >= events:
        print(f"data: {have:,} events already in {store.path}")
        write_keys(store)
        return
    visitors = int((events - have) / 5.6) + 1  # the demo averages ~5.6 events per visitor
    per_chunk = 50_000
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(2) as pool:
        jobs = [
            (min(per_chunk, visitors - i), 1000 + have // 1000 + i // per_chunk, folder)
            for i in range(0, visitors, per_chunk)
        ]
        for path, n in pool.map(_chunk, jobs):
            store.execute(
                f"INSERT INTO {store.database}.events ({', '.join(COLUMNS)}) "
                f"SELECT * FROM file('{path}', Parquet)"
            )
            Path(path).unlink()
            print(f"  +{n:,} events", flush=True)
    (have,) = store.execute(f"SELECT count() FROM {store.database}.events")[0]
    print(f"data: built {have:,} events in {time.perf_counter() - started:.0f} s")


def grow(store: EmbeddedStore, events: int) -> None:
    """Add copies of the events first built (``loaded_at`` = NOW) under new ids until the set
    holds about ``events``."""
    db = store.database
    base_at = int(NOW.timestamp())
    (base,) = store.execute(
        f"SELECT count() FROM {db}.events WHERE loaded_at = toDateTime({base_at})"
    )[0]
    wanted = max(1, round(events / base))
    (have,) = store.execute(f"SELECT count() FROM {db}.events")[0]
    columns = [
        str(name)
        for (name,) in store.execute(
            "SELECT name FROM system.columns WHERE database = %(db)s AND table = 'events' "
            "AND default_kind = '' ORDER BY position",
            {"db": db},
        )
    ]
    renamed = ("event_id", "anonymous_id", "user_id", "previous_id")
    for copy in range(round(have / base), wanted):
        started = time.perf_counter()
        values = [
            f"if({c} != '', concat({c}, '-c{copy}'), '')"
            if c in renamed
            else f"toDateTime({base_at + copy})"
            if c == "loaded_at"
            else c
            for c in columns
        ]
        store.execute(
            f"INSERT INTO {db}.events ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {db}.events WHERE loaded_at = toDateTime({base_at})"
        )
        print(
            f"  copy {copy}: +{base:,} events in {time.perf_counter() - started:.0f} s", flush=True
        )


def write_keys(store: EmbeddedStore) -> None:
    """Store the hashed keys (migration 0009) in parts written before it, as a merge would."""
    (parts, stored) = store.execute(
        "SELECT uniqExact(name), uniqExactIf(name, column = 'event_key') FROM system.parts_columns "
        "WHERE database = %(db)s AND table = 'events' AND active",
        {"db": store.database},
    )[0]
    if stored < parts:
        started = time.perf_counter()
        store.execute(f"OPTIMIZE TABLE {store.database}.events FINAL")
        print(f"data: hashed keys written in {time.perf_counter() - started:.0f} s")


def timed(label: str, rounds: int, fn: object) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(
        f"{label}: median {median:.2f} s over {rounds} runs ({', '.join(f'{t:.2f}' for t in times)})"
    )
    return median, result


def held_funnels(store: EmbeddedStore, rounds: int, funnel: FunnelSpec) -> None:
    """The 4-step funnel of people, holding the product viewed (``properties.product_id``;
    the demo's later steps carry none, so only its first two steps can match) and holding the
    session: the three alternate within each round, so the machine's drift falls on all."""
    specs = {
        "people (no value held)": replace(funnel, breakdown=None),
        "holding properties.product_id": replace(
            funnel, breakdown=None, hold="properties.product_id"
        ),
        "holding the session": replace(funnel, breakdown=None, hold="session"),
    }
    times: dict[str, list[float]] = {name: [] for name in specs}
    found = {}
    for r in range(rounds):
        order = list(specs) if r % 2 == 0 else list(reversed(specs))
        for name in order:
            started = time.perf_counter()
            found[name] = analyze(store, specs[name])
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times["people (no value held)"])
    for name, spent in times.items():
        median = statistics.median(spent)
        people = " > ".join(f"{s.people:,}" for s in found[name].steps)
        print(f"funnel, 4 steps, {name}: median {median:.2f} s over {rounds} runs "
              f"({median / base:.2f}x the people funnel); {people}")  # fmt: skip


# Reading properties: by the paths the loader writes (storage.paths) and, side by side on the same
# rows, by visitParamExtract* on the JSON (what analyses read before; it finds a key at any depth,
# so it is also wrong on nested data). Queries shaped as analyses read them: the event first.
PROPERTY_READS = {
    "paths": (
        "toFloat64OrZero(visitParamExtractString(property_paths, 'revenue'))",
        "visitParamExtractString(property_paths, 'product_id')",
    ),
    "visitParamExtract": (
        "toFloat64OrZero(replaceAll(visitParamExtractRaw(properties, 'revenue'), '\"', ''))",
        "visitParamExtractString(properties, 'product_id')",
    ),
}


def properties(store: EmbeddedStore, rounds: int, funnel: FunnelSpec) -> None:
    import analyzer.query as query  # where a filter's property is read

    results = {}
    for name, (revenue, product) in PROPERTY_READS.items():
        sql = (
            f"SELECT (SELECT groupArray((utm_source, s)) FROM (SELECT utm_source, sum({revenue}) "
            "AS s FROM journey.events WHERE event = 'Order Completed' GROUP BY utm_source "
            "ORDER BY utm_source)), (SELECT uniqExact(anonymous_id) FROM journey.events "
            f"WHERE event = 'Product Viewed' AND {product} = 'sku-007')"
        )
        _, results[name] = timed(
            f"revenue by utm_source and viewers of a product, read by {name}",
            rounds,
            lambda sql=sql: store.execute(sql),
        )
    print(
        f"  results equal on these flat properties: {results['paths'] == results['visitParamExtract']}"
    )
    # the funnel with a property filter on its first step, each reader in turn
    viewed = Step(
        STEPS[0], (Filter("properties.product_id", "in", [f"sku-{i:03d}" for i in range(1, 13)]),)
    )
    filtered = replace(funnel, steps=(viewed, *funnel.steps[1:]))
    readers = {
        "paths": query.property_text,
        "visitParamExtract": lambda key: f"visitParamExtractString(properties, %({key})s)",
    }
    counts = {}
    for name, reader in readers.items():
        query.property_text = reader  # type: ignore[assignment]
        try:
            _, report = timed(
                f"the funnel with a property filter on its first step, read by {name}",
                rounds,
                lambda: analyze(store, filtered),
            )
        finally:
            query.property_text = readers["paths"]  # type: ignore[assignment]
        counts[name] = [s.people for s in report.steps]  # type: ignore[attr-defined]
    print(f"  {counts['paths']}; results equal: {counts['paths'] == counts['visitParamExtract']}")


# The raw engine, for goal 1 of issue 25: the same questions written by hand the shortest way
# ClickHouse answers them, with no deduplication of replays, no identity stitching, no bots
# rule beyond the one filter, and the traffic source of each person's first step event.
RAW_FUNNEL = """
SELECT source, count(), countIf(level >= 2), countIf(level >= 3), countIf(level >= 4)
FROM (
    SELECT identity_key,
        argMinIf(utm_source, timestamp_ms, event = %(s0)s) AS source,
        windowFunnel(%(window)s)(timestamp, event = %(s0)s, event = %(s1)s, event = %(s2)s,
                                 event = %(s3)s) AS level
    FROM journey.events
    WHERE timestamp >= toDateTime(%(start)s) AND timestamp < toDateTime(%(end)s)
      AND event IN (%(s0)s, %(s1)s, %(s2)s, %(s3)s) AND device_type != 'bot'
    GROUP BY identity_key
)
WHERE level >= 1
GROUP BY source ORDER BY source
"""
RAW_PATHS = """
SELECT path, count() AS n
FROM (
    SELECT arraySlice(session, 1, 5) AS path
    FROM (
        SELECT arraySort((e, t) -> t, groupArray(element), groupArray(timestamp_ms)) AS elements,
               arraySort(groupArray(timestamp_ms)) AS times,
               arrayMap((t, i) -> i = 1 OR t - times[i - 1] > 1800000, times,
                        arrayEnumerate(times)) AS starts
        FROM (
            SELECT identity_key, timestamp_ms,
                   if(type = 'page', replaceRegexpOne(page_path, %(pattern)s, %(alias)s), event)
                       AS element
            FROM journey.events
            WHERE timestamp >= toDateTime(%(start)s) AND timestamp < toDateTime(%(end)s)
              AND type IN ('track', 'page', 'screen') AND device_type != 'bot'
        )
        GROUP BY identity_key
    )
    ARRAY JOIN arraySplit((e, s) -> s, elements, starts) AS session
)
GROUP BY path ORDER BY n DESC, path LIMIT 20
"""


def raw_engine(store: EmbeddedStore, rounds: int, funnel: FunnelSpec, paths: PathSpec) -> None:
    """Issue 25's baselines on the same rows, right after Journey's own figures."""
    params = {
        **{f"s{i}": step for i, step in enumerate(STEPS)},
        "window": int(funnel.window.total_seconds()),
        "start": int(funnel.date_from.timestamp()),
        "end": int(funnel.date_to.timestamp()),
        "pattern": CLEAN[0][0],
        "alias": CLEAN[0][1],
    }
    _, rows = timed(
        "raw engine: windowFunnel by hand, same funnel",
        rounds,
        lambda: store.execute(RAW_FUNNEL, params),
    )
    for source, *levels in rows:  # type: ignore[union-attr]
        print(f"  {source:>12}: " + " > ".join(f"{n:,}" for n in levels))
    _, top = timed(
        "raw engine: groupArray paths by hand, same sessions",
        rounds,
        lambda: store.execute(RAW_PATHS, params),
    )
    print(f"  first: {' > '.join(top[0][0])} ({top[0][1]:,})")  # type: ignore[index]


SEGMENTS = {  # five segments of the bench's people, refreshed once for the breakdowns below
    "version": 1,
    "segments": [
        {"name": "mobile", "rule": {"attribute": "device", "eq": "mobile"}},
        {"name": "from_google", "rule": {"attribute": "first_touch_source", "eq": "google"}},
        {"name": "from_facebook", "rule": {"attribute": "first_touch_source", "eq": "facebook"}},
        {
            "name": "from_newsletter",
            "rule": {"attribute": "first_touch_source", "eq": "newsletter"},
        },
        {"name": "buyers", "rule": {"did": "Order Completed", "at_least": 1}},
    ],
}


def stages_and_trends(
    store: EmbeddedStore, rounds: int, date_from: datetime, date_to: datetime
) -> None:
    """Issue 26's speed figures: a 5-stage journey map of touchpoint sets by 5 segments (and
    by the 5 traffic sources), a daily trend of unique people by segment (and by source) over
    the last 30 days, and the drop-off correlation of the funnel's second step."""
    from analyzer.correlation import CorrelationSpec, correlation
    from analyzer.journeymap import JourneyMapSpec, journey_map
    from analyzer.segments import catalog
    from analyzer.segments.definition import parse_document
    from analyzer.segments.refresh import refresh
    from analyzer.trends import TrendSpec, trend

    catalog.define(store, parse_document(SEGMENTS))
    started = time.perf_counter()
    refresh(store, [s["name"] for s in SEGMENTS["segments"]], at=date_to)
    print(f"  (refreshing the 5 segments: {time.perf_counter() - started:.1f} s)")
    by_segment = Breakdown("segment", segments=tuple(s["name"] for s in SEGMENTS["segments"]))
    page = Step("", (Filter("type", "eq", "page"),))
    stages = (
        Step("awareness", any_of=(page, Step("Product Viewed"))),
        Step("interest", any_of=(Step("Product Viewed"),)),
        Step("consideration", any_of=(Step("Product Added"), Step("Checkout Started"))),
        Step("purchase", any_of=(Step("Order Completed"),)),
        Step("loyalty", any_of=(Step("Order Completed"), Step("Product Viewed"))),
    )
    half = date_from + (date_to - date_from) / 2
    for label, breakdown in (("5 segments", by_segment), ("utm_source", Breakdown("utm_source"))):
        spec = JourneyMapSpec(stages, half, date_to, timedelta(days=7), breakdown)
        _, found = timed(
            f"journey map, 5 stages of touchpoint sets, by {label}, and the period before",
            rounds,
            lambda spec=spec: journey_map(store, spec),  # type: ignore[misc]
        )
        everyone = found.groups[0]  # type: ignore[attr-defined]
        print("  " + " > ".join(f"{s.name} {s.people:,}" for s in everyone.stages))
    for label, breakdown in (("segment", by_segment), ("utm_source", Breakdown("utm_source"))):
        month = TrendSpec(
            Step("Product Viewed"),
            date_to - timedelta(days=30),
            date_to,
            interval="day",
            measure="people",
            breakdown=breakdown,
        )
        _, got = timed(
            f"daily trend of people by {label}, 30 days",
            rounds,
            lambda month=month: trend(store, month),  # type: ignore[misc]
        )
        print(f"  {len(got.series)} series, people in the period: {got.series[0].total:,.0f}")  # type: ignore[attr-defined]
    funnel = FunnelSpec(
        steps=tuple(Step(s) for s in STEPS),
        date_from=date_from,
        date_to=date_to,
        window=timedelta(days=7),
    )
    why = CorrelationSpec(funnel, step=2)
    _, found = timed(
        "drop-off correlation at step 2, 6 fields and every event",
        rounds,
        lambda: correlation(store, why),
    )
    print(f"  {found.dropped:,} dropped, {found.converted:,} converted, {found.tested} tested")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", action="store_true", help="also time the pandas reference")
    parser.add_argument(
        "--only", choices=("held",), help="only this part (held: funnels holding a value)"
    )
    args = parser.parse_args()
    data = DATA if args.events == 10_000_000 else DATA.with_name(f"{DATA.name}-{args.events}")
    if args.events > 10_000_000 and not data.exists():
        if not DATA.exists():
            sys.exit("build the 10 M set first: python bench/analytics.py")
        shutil.copytree(DATA, data, symlinks=True)  # chDB links its tables relatively
    store = EmbeddedStore.open(data, "journey")
    if args.events > 10_000_000:
        grow(store, args.events)
    else:
        build(store, args.events)
    first, last = store.execute("SELECT min(timestamp), max(timestamp) FROM journey.events")[0]
    date_from = first.replace(tzinfo=UTC)
    date_to = last.replace(tzinfo=UTC) + timedelta(seconds=1)
    funnel = FunnelSpec(
        steps=tuple(Step(s) for s in STEPS),
        date_from=date_from,
        date_to=date_to,
        window=timedelta(days=7),
        breakdown=Breakdown("utm_source"),
    )
    paths = PathSpec(date_from=date_from, date_to=date_to, kind="all", cleaning=CLEAN, top=20)
    (events,) = store.execute("SELECT count() FROM journey.events")[0]
    print(f"events: {events:,}")
    if args.only == "held":
        held_funnels(store, args.rounds, funnel)
        return
    funnel_s, report = timed(
        "funnel, 4 steps, 7-day window, by utm_source", args.rounds, lambda: analyze(store, funnel)
    )
    for group in report.breakdown:  # type: ignore[attr-defined]
        print(f"  {group.value:>12}: " + " > ".join(f"{s.people:,}" for s in group.steps))
    paths_s, (total, top) = timed("top 20 paths", args.rounds, lambda: top_paths(store, paths))  # type: ignore[misc]
    print(f"  {total:,} session paths; first: {' > '.join(top[0].steps)} ({top[0].count:,})")
    raw_engine(store, args.rounds, funnel, paths)
    properties(store, args.rounds, funnel)
    stages_and_trends(store, args.rounds, date_from, date_to)
    held_funnels(store, args.rounds, funnel)
    if not args.reference:
        return
    from tests.analyzer import reference

    started = time.perf_counter()
    frame = store.query_df(
        "SELECT event_id, type, event, anonymous_id, user_id, previous_id, "
        "toUInt32(timestamp) AS timestamp, "
        "timestamp_ms, page_path, utm_source, properties, traits, cityHash64(event_id) AS tie "
        "FROM journey.events"
    )
    print(
        f"reference: read {len(frame):,} rows into pandas in {time.perf_counter() - started:.0f} s"
    )
    ref_funnel_s, expected = timed("reference funnel", 1, lambda: reference.funnel(frame, funnel))
    got = {g.value: [s.people for s in g.steps] for g in report.breakdown}  # type: ignore[attr-defined]
    assert got == {k: [s[0] for s in v] for k, v in expected["breakdown"].items()}, "mismatch"  # type: ignore[index]
    ref_paths_s, ref_top = timed(
        "reference top paths", 1, lambda: reference.top_paths(frame, paths)
    )
    assert [(p.steps, p.count) for p in top] == ref_top[1], "paths mismatch"  # type: ignore[index]
    print(
        f"speed-up: funnel {ref_funnel_s / funnel_s:.0f}x, paths {ref_paths_s / paths_s:.0f}x (results equal)"
    )


if __name__ == "__main__":
    main()

"""The benchmark's analyses as an earlier revision's code sends them against as this one does,
run alternately in one process on the 10 M set (bench/analytics.py builds it), so the
machine's drift falls on both alike.

Each revision's statements are recorded by running the analyses with that revision's code (a
git worktree, in a child process each, one after the other: chDB holds its folder), bound as
sent. Then, round after round, each analysis's statements of one revision and of the other
run in turn (the first of the two alternating), and the medians are printed with whether the
two revisions' statements are the same text.

    python bench/sql_alternation.py --base REV [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("JOURNEY_BENCH_CODE") or str(ROOT))


class Recording:
    """The store, writing down each statement as bound and sent."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.statements: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        from storage.sql import bind

        self.statements.append(bind(sql, params))
        return self.store.execute(sql, params)

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        from storage.sql import bind

        self.statements.append(bind(sql, params))
        return self.store.query_df(sql, params)


def _analyses(store: Any) -> dict[str, Any]:
    """The benchmark's analyses (bench/analytics.py), each a function of the store."""
    from analyzer.correlation import CorrelationSpec, correlation
    from analyzer.funnels import FunnelSpec, analyze
    from analyzer.journeymap import JourneyMapSpec, journey_map
    from analyzer.paths import PathSpec, top_paths
    from analyzer.trends import TrendSpec, trend
    from bench.analytics import CLEAN, SEGMENTS, STEPS

    try:
        from analyzer.vocabulary import Breakdown, Filter, Step
    except ImportError:  # revisions before the shared vocabulary had it in analyzer.funnels
        from analyzer.funnels import Breakdown, Filter, Step  # type: ignore[attr-defined,no-redef]

    first, last = store.execute("SELECT min(timestamp), max(timestamp) FROM journey.events")[0]
    date_from = first.replace(tzinfo=UTC)
    date_to = last.replace(tzinfo=UTC) + timedelta(seconds=1)
    steps = tuple(Step(s) for s in STEPS)
    funnel = FunnelSpec(
        steps, date_from, date_to, timedelta(days=7), breakdown=Breakdown("utm_source")
    )
    paths = PathSpec(date_from=date_from, date_to=date_to, kind="all", cleaning=CLEAN, top=20)
    segments = Breakdown("segment", segments=tuple(s["name"] for s in SEGMENTS["segments"]))
    page = Step("", (Filter("type", "eq", "page"),))
    stages = (
        Step("awareness", any_of=(page, Step("Product Viewed"))),
        Step("interest", any_of=(Step("Product Viewed"),)),
        Step("consideration", any_of=(Step("Product Added"), Step("Checkout Started"))),
        Step("purchase", any_of=(Step("Order Completed"),)),
        Step("loyalty", any_of=(Step("Order Completed"), Step("Product Viewed"))),
    )
    half = date_from + (date_to - date_from) / 2
    month = date_to - timedelta(days=30)
    plain = FunnelSpec(steps, date_from, date_to, timedelta(days=7))
    return {
        "funnel by source": lambda s: analyze(s, funnel),
        "top 20 paths": lambda s: top_paths(s, paths),
        "journey map by 5 segments": lambda s: journey_map(
            s, JourneyMapSpec(stages, half, date_to, timedelta(days=7), segments)
        ),
        "journey map by source": lambda s: journey_map(
            s, JourneyMapSpec(stages, half, date_to, timedelta(days=7), Breakdown("utm_source"))
        ),
        "daily trend of people by segment": lambda s: trend(
            s,
            TrendSpec(Step("Product Viewed"), month, date_to, measure="people", breakdown=segments),
        ),
        "daily trend of people by source": lambda s: trend(
            s,
            TrendSpec(
                Step("Product Viewed"),
                month,
                date_to,
                measure="people",
                breakdown=Breakdown("utm_source"),
            ),
        ),  # fmt: skip
        "drop-off correlation at step 2": lambda s: correlation(s, CorrelationSpec(plain, step=2)),
    }


def record(out: Path, refresh: bool) -> None:
    """Write each analysis's statements, as this process's code sends them, to ``out``."""
    from bench.analytics import SEGMENTS
    from storage.embedded import EmbeddedStore

    store = EmbeddedStore.open(Path(os.environ["JOURNEY_BENCH_DATA"]), "journey")
    if refresh:  # once, before either revision records: both then read the same version
        from analyzer.segments import catalog
        from analyzer.segments.definition import parse_document
        from analyzer.segments.refresh import refresh as refresh_segments

        catalog.define(store, parse_document(SEGMENTS))
        (last,) = store.execute("SELECT max(timestamp) FROM journey.events")[0]
        refresh_segments(
            store, [s["name"] for s in SEGMENTS["segments"]], at=last.replace(tzinfo=UTC)
        )
    found = {}
    for label, run in _analyses(store).items():
        recording = Recording(store)
        run(recording)
        found[label] = recording.statements
    out.write_text(json.dumps(found))


def _recorded(code: Path, refresh: bool) -> dict[str, list[str]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        from bench.analytics import DATA

        env = {**os.environ, "JOURNEY_BENCH_CODE": str(code), "PYTHONPATH": str(code)}
        env["JOURNEY_BENCH_DATA"] = str(DATA)
        args = [sys.executable, str(Path(__file__).resolve()), "--record", out.name]
        subprocess.run([*args, *(["--refresh"] if refresh else [])], env=env, check=True)
        return json.loads(Path(out.name).read_text())  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    parser.add_argument("--refresh", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(Path(args.record), args.refresh)
        return
    if not args.base:
        parser.error("--base REV is required")
    from bench.analytics import DATA

    if not DATA.exists():
        sys.exit("build the 10 M set first: python bench/analytics.py")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base],
                       check=True, capture_output=True)  # fmt: skip
        try:
            new = _recorded(ROOT, refresh=True)
            old = _recorded(base, refresh=False)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           check=True)  # fmt: skip
    from storage.embedded import EmbeddedStore

    store = EmbeddedStore.open(DATA, "journey")
    print(f"{args.base} against the working tree, {args.rounds} rounds, alternating")
    for label in new:
        times: dict[str, list[float]] = {"base": [], "new": []}
        for r in range(args.rounds):
            for which in ("base", "new") if r % 2 == 0 else ("new", "base"):
                started = time.perf_counter()
                for sql in (old if which == "base" else new)[label]:
                    store.execute(sql)
                times[which].append(time.perf_counter() - started)
        a, b = statistics.median(times["base"]), statistics.median(times["new"])
        same = "same SQL" if old.get(label) == new[label] else "SQL differs"
        print(f"{label:>36}: base {a:6.2f} s, new {b:6.2f} s ({b / a:.2f}x; {same})", flush=True)


if __name__ == "__main__":
    main()

"""How long the scorecard reports take on the segment benchmark's data set: 1 M generated
customers (8.3 M events) in chDB with their segments refreshed (build it first with
``python bench/segments.py``, which also refreshes the segments).

    python bench/scorecard.py [--rounds 3]

Measured: the scorecard of five segments over 60 days with a two-step funnel (conversion,
engagement, retention, revenue), the before/after comparison of two 60-day periods (two
scorecards), and campaign return with a 30-day lookback split by the same segments.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.campaigns import CampaignSpec, campaign_return  # noqa: E402
from analyzer.segments.scorecard import ScorecardSpec, compare, refreshed_segments, scorecard  # noqa: E402
from analyzer.vocabulary import Step  # noqa: E402
from bench.segments import DATA, NOW  # noqa: E402
from storage import migrations  # noqa: E402
from storage.embedded import EmbeddedStore  # noqa: E402


def timed(rounds: int, run: Callable[[], Any]) -> str:
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        took.append(time.perf_counter() - started)
    return (
        f"{statistics.median(took):.2f} s median of {rounds} ({min(took):.2f} to {max(took):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"no data in {DATA}: run python bench/segments.py first")
    store = EmbeddedStore.open(DATA, "journey")
    migrations.apply(store)  # a data set built before the scorecard's tables
    (events,) = store.execute("SELECT count() FROM journey.events")[0]
    names = tuple(n for n in refreshed_segments(store) if n != "rfm")[:4] + ("rfm",)
    print(f"{events:,} events; segments: {', '.join(names)}")
    after = ScorecardSpec(
        NOW - timedelta(days=60),
        NOW,
        segments=names,
        steps=(Step("Product Viewed"), Step("Order Completed")),
    )
    before = ScorecardSpec(
        NOW - timedelta(days=120), NOW - timedelta(days=60), segments=names, steps=after.steps
    )
    print("scorecard, 60 days, 5 segments (RFM as its groups), 2-step funnel:",
          timed(args.rounds, lambda: scorecard(store, after)))  # fmt: skip
    print(
        "before/after, two 60-day periods:",
        timed(args.rounds, lambda: compare(store, before, after)),
    )
    spec = CampaignSpec(NOW - timedelta(days=60), NOW, segments=names)
    print("campaign return, 60 days, 30-day lookback, by 5 segments:",
          timed(args.rounds, lambda: campaign_return(store, spec)))  # fmt: skip


if __name__ == "__main__":
    main()

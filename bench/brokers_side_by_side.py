"""The ingestion benchmarks on both brokers in one run, side by side: collector requests/s (one
event a request) against a no-op endpoint, collector events/s in 50-event batches, loader rows/s
per process, and end-to-end p95 from POST to queryable at 5,000 events/s; each with the CPU the
brokers took meanwhile.

    python -m bench.brokers_side_by_side [--rounds 3] [--rate 5000] [--batch-seconds 0.2]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

from bench import collector_http, latency, loader_throughput
from bench.brokers import KINDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=5000, help="events/s for the latency run")
    parser.add_argument("--batch-seconds", type=float, default=0.2, help="the loader's batch time")
    parser.add_argument("--only", choices=KINDS, help=argparse.SUPPRESS)  # one broker's run
    args = parser.parse_args()
    if args.only:
        found = {f"http_{k}": v for k, v in collector_http.main(args.rounds, args.only).items()}
        found |= {f"load_{k}": v for k, v in loader_throughput.main(args.only).items()}
        found |= {
            f"e2e_{k}": v for k, v in latency.main(args.rate, args.only, args.batch_seconds).items()
        }
        print("RESULTS " + json.dumps(found))
        return
    print(f"on {platform.node() or 'this machine'}, Python {platform.python_version()}")
    results: dict[str, dict[str, float]] = {}
    for kind in KINDS:  # a process each: chDB allows one embedded store per process
        print(f"\n== {kind} ==", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.brokers_side_by_side", *sys.argv[1:], "--only", kind],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        lines = done.stdout.splitlines()
        print("\n".join(line for line in lines if not line.startswith("RESULTS ")))
        results[kind] = json.loads(lines[-1].removeprefix("RESULTS "))
    rows = [
        ("collector req/s, 1 event/request", "http_collector_rps", "{:,.0f}"),
        ("  ratio to no-op (goal >= 0.5)", "http_ratio", "{:.2f}"),
        ("  brokers' cores meanwhile", "http_broker_cores_single", "{:.2f}"),
        (
            "collector events/s, 50-event batches (goal 20,000)",
            "http_batch_events_per_s",
            "{:,.0f}",
        ),
        ("  brokers' cores meanwhile", "http_broker_cores_batch", "{:.2f}"),
        ("loader rows/s, chDB", "load_loader_chdb_rows_per_s", "{:,.0f}"),
        ("loader rows/s, ClickHouse 18.16 server", "load_loader_server_rows_per_s", "{:,.0f}"),
        ("  brokers' cores meanwhile", "load_broker_cores_server", "{:.2f}"),
        (f"end-to-end p50 ms at {args.rate:,}/s", "e2e_p50_ms", "{:,.0f}"),
        (f"end-to-end p95 ms at {args.rate:,}/s (goal < 1,000)", "e2e_p95_ms", "{:,.0f}"),
        ("  rate achieved, events/s", "e2e_rate", "{:,.0f}"),
        ("  events never queryable", "e2e_missing", "{:,.0f}"),
    ]
    print(f"\n{'':56} {'bundled':>10} {'kafka':>10}")
    for label, key, fmt in rows:
        cells = [fmt.format(results[k][key]) for k in KINDS]
        print(f"{label:56} {cells[0]:>10} {cells[1]:>10}")


if __name__ == "__main__":
    main()

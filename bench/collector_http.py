"""Collector requests/s (one event a request) against a no-op Flask endpoint under the same
gunicorn settings, and events/s with 50-event batches. wrk drives load from a second process on
loopback. Each event has its own messageId (wrk's Lua counter), like real traffic.

Events carry one browser's user agent, which the collector's parser caches; a fourth figure
gives each request a user agent never seen before (a new Chrome build number), the parser's
worst case."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.brokers import CpuMeter, running
from bench.common import data_dir, env_for, figure, start_gunicorn, stop

DURATION = "10s"
EVENT = {
    "type": "track",
    "event": "Product Viewed",
    "anonymousId": "VISITOR",
    "timestamp": "2024-05-01T12:00:00.000Z",
    "properties": {"product_id": "sku-001", "price": 16.75},
    "context": {
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0.UAVER.0 Safari/537.36",
        "page": {
            "url": "https://shop.example/product/sku-001?utm_source=google&utm_medium=cpc",
            "path": "/product/sku-001",
            "title": "Product",
        },
        "locale": "en-US",
    },
}
LUA = """
local counter = 0
local template = %s
local per = %d
local distinct = %s
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, per do
    local id = tostring(counter) .. "-" .. tostring(i) .. "-" .. tostring(math.random(1e9))
    local build = "0"
    if distinct then build = tostring(counter) .. tostring(i) .. tostring(math.random(1e6)) end
    parts[i] = template:gsub("VISITOR", "v" .. tostring(counter %% 5000)):gsub("MSGID", id)
      :gsub("UAVER", build)
  end
  local body
  if per == 1 then body = parts[1] else body = '{"batch":[' .. table.concat(parts, ",") .. ']}' end
  return wrk.format("POST", wrk.path, {["Content-Type"]="application/json",
    ["Authorization"]="Basic YmVuY2gta2V5Og=="}, body)
end
"""


def wrk(url: str, per_request: int, connections: int = 16, distinct_agents: bool = False) -> float:
    event = json.dumps({**EVENT, "messageId": "MSGID"})
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        LUA
        % (
            json.dumps(event).replace("\\/", "/"),
            per_request,
            "true" if distinct_agents else "false",
        )
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{DURATION}", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} requests failed:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main(rounds: int = 3, broker: str = "bundled") -> dict[str, float]:
    """Alternate the three measurements ``rounds`` times (this machine's speed drifts between
    runs) and report medians, with each round's ratio taken from its adjacent measurements;
    ``broker`` is bench.brokers' kind."""
    samples: dict[str, list[float]] = {
        "noop_rps": [],
        "collector_rps": [],
        "batch_events_per_s": [],
        "ratio": [],
        "new_agent_rps": [],
    }
    cores: dict[str, list[float]] = {"single": [], "batch": []}
    with running(broker) as brokers:
        env = env_for(
            {
                "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": brokers.bootstrap,
                "JOURNEY_DATA_DIR": data_dir(),
                "JOURNEY_WRITE_KEYS": "bench:bench-key",
            }
        )
        noop, noop_port = start_gunicorn("bench.apps:noop()", env)
        app, port = start_gunicorn("bench.apps:collector()", env)
        try:
            wrk(f"http://127.0.0.1:{port}/v1/track", 1, connections=4)  # warm up: producers connect
            for _ in range(rounds):
                base = wrk(f"http://127.0.0.1:{noop_port}/v1/track", 1)
                meter = CpuMeter(brokers).start()
                single = wrk(f"http://127.0.0.1:{port}/v1/track", 1)
                meter.stop()
                cores["single"].append(meter.cpu / meter.wall)
                samples["noop_rps"].append(base)
                samples["collector_rps"].append(single)
                samples["ratio"].append(single / base)
                meter.start()
                samples["batch_events_per_s"].append(
                    50 * wrk(f"http://127.0.0.1:{port}/v1/batch", 50)
                )
                meter.stop()
                cores["batch"].append(meter.cpu / meter.wall)
                samples["new_agent_rps"].append(
                    wrk(f"http://127.0.0.1:{port}/v1/track", 1, distinct_agents=True)
                )
        finally:
            stop(app)
            stop(noop)
    results = {k: statistics.median(v) for k, v in samples.items()}
    results["broker_cores_single"] = statistics.median(cores["single"])
    results["broker_cores_batch"] = statistics.median(cores["batch"])

    def spread(key: str) -> str:
        return f"median of {rounds}; range {min(samples[key]):,.0f} to {max(samples[key]):,.0f}"

    print(
        f"collector HTTP (gunicorn, 2 gthread workers x 8 threads; wrk -t2 -c16 -d{DURATION} on "
        f"loopback), {brokers.label}"
    )
    figure(
        "no-op Flask endpoint, 1 event/request", results["noop_rps"], "req/s", spread("noop_rps")
    )
    figure(
        "collector, 1 event/request",
        results["collector_rps"],
        "req/s",
        f"{spread('collector_rps')}; brokers {results['broker_cores_single']:.2f} cores",
    )
    figure(
        "  ratio to no-op, same round (goal >= 0.5)",
        results["ratio"],
        "",
        f"rounds: {', '.join(f'{r:.2f}' for r in samples['ratio'])}",
    )
    figure(
        "collector, 50-event batches (goal >= 20,000)",
        results["batch_events_per_s"],
        "events/s",
        f"{spread('batch_events_per_s')}; brokers {results['broker_cores_batch']:.2f} cores",
    )
    figure(
        "collector, 1 event/request, a user agent never seen before each",
        results["new_agent_rps"],
        "req/s",
        spread("new_agent_rps"),
    )
    return results


if __name__ == "__main__":
    main()

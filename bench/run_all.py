"""Run every benchmark of the ingestion pipeline, one after another, and print the figures."""

import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (  # noqa: E402
    collector_http,
    history_import,
    latency,
    loader_throughput,
    parallel_loaders,
)

if __name__ == "__main__":
    print(
        f"Journey benchmarks on {platform.node() or 'this machine'}: Python {platform.python_version()}"
    )
    collector_http.main()
    loader_throughput.main()
    history_import.main()
    latency.main()
    sys.argv = sys.argv[:1]  # parallel_loaders reads its own options
    parallel_loaders.main()

"""Latency at half the maximum rate for several micro-batch windows, side by side.

Usage (from the repository root):
    python -m benchmarks.batch_window ../shared/data/news/bbc [--limit 150] [--windows 0.5,0.2]

One private broker; first the worker's maximum rate with all articles produced at once,
then, for each window (``STANCEWIRE_BATCH_WINDOW_S``), a fresh worker fed the same
articles at half that rate. Prints p50/p95/p99 end-to-end latency per window.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.bench import Bench
from pipeline.inputs import iter_paths, read_articles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--windows", default="0.5,0.2", help="comma-separated seconds")
    options = parser.parse_args()
    articles = [
        a for path in iter_paths([options.data]) for a in read_articles(path) if isinstance(a, dict)
    ][: options.limit]
    if not articles:
        raise SystemExit(f"no articles under {options.data}")
    worker = [sys.executable, "-m", "agents.cli", "worker"]
    with tempfile.TemporaryDirectory(prefix="stancewire-window-") as tmp:
        bench = Bench(articles, Path(tmp))
        bench.broker.start(timeout_s=120)
        try:
            full = bench.measure(worker, count=len(articles))
            rate = full.articles_per_s / 2
            print(f"maximum {full.articles_per_s:.2f} articles/s; half rate {rate:.2f}/s")
            print(f"{'window s':>8} {'art/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
            for window in options.windows.split(","):
                run = bench.measure(
                    worker,
                    count=len(articles),
                    rate=rate,
                    extra_env={"STANCEWIRE_BATCH_WINDOW_S": window},
                ).summary()
                print(
                    f"{window:>8} {run['articles_per_s']:>6} {run['p50_ms']:>7} "
                    f"{run['p95_ms']:>7} {run['p99_ms']:>7}"
                )
        finally:
            bench.broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Memory over time: a short run of ``stancewire soak``, and a burst drained from a backlog.

The models are off in both: what is watched is the worker's own state and buffers, and
without the models a worker gets through thousands of articles in a minute. The README
records a long soak run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psutil
import pytest

from agents.broker import LocalBroker
from tests.integration.conftest import Pipeline
from tests.integration.test_reliability import NO_MODELS, check_dead_letters, ids, payload, tally

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# An idle worker with the models off holds about 190 MB here. The whole backlog of 10,000
# articles is about 4 MB of input; a worker that buffered it several times over, or kept
# every result, would still pass 190 MB, so the bound leaves room for that and no more.
BURST_PEAK_RSS_MB = 256
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_run_passes_and_reports_its_samples(
    broker: LocalBroker, tmp_path: Path
) -> None:
    report_path = tmp_path / "soak.json"
    command = [sys.executable, "-m", "agents.cli", "soak", "--articles", "300", "--rate", "30"]
    command += ["--interval", "1", "--no-models", "--bootstrap", broker.bootstrap]
    command += ["--json", str(report_path)]
    # Run in a folder of its own (the worker's log and state go there), on this checkout.
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    report = orjson.loads(report_path.read_bytes())
    assert report["passed"] and report["lost"] == 0, output
    assert report["enriched"] + report["dead_lettered"] == 300
    assert len(report["samples"]) >= 8, output  # about one a second for ten seconds
    assert all(s["rss_mb"] > 50 for s in report["samples"]), "RSS must be the worker's"
    assert report["samples"][-1]["out"] == 300
    assert "RSS growth from the second to the last quarter" in output
    print("\n" + output.strip().splitlines()[-1])


def test_a_burst_of_10000_waiting_articles_drains_in_bounded_memory(pipeline: Pipeline) -> None:
    pipeline.extra_env |= NO_MODELS
    keys = ids(range(10_000))
    pipeline.produce([(f"r-{n:05d}".encode(), payload(n)) for n in range(10_000)])
    watcher = pipeline.watcher()
    started = time.monotonic()
    worker = pipeline.start_worker()
    peak = {"rss_mb": 0.0}
    stop = threading.Event()

    def sample_memory() -> None:
        process = psutil.Process(worker.pid)
        while not stop.wait(0.5):
            try:
                rss = process.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                return
            peak["rss_mb"] = max(peak["rss_mb"], rss)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    arrived = watcher.collect(keys, timeout_s=300)
    drained = time.monotonic() - started
    # The kernel's own high-water mark, so a peak between two samples counts too.
    status = Path(f"/proc/{worker.pid}/status").read_text()
    high_water_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
    stop.set()
    sampler.join()
    watcher.close()
    figures = tally(arrived, keys, pipeline.settings)
    assert figures["lost"] == 0, f"lost {figures}\n{pipeline.worker_logs()}"
    check_dead_letters(arrived)
    assert worker.poll() is None, pipeline.worker_logs()
    assert high_water_mb < BURST_PEAK_RSS_MB, (
        f"peak RSS {high_water_mb:.0f} MB, bound {BURST_PEAK_RSS_MB} MB"
    )
    print(
        f"\nburst of 10,000 before the worker started: {figures}, drained in {drained:.1f} s "
        f"from the worker's start ({10_000 / drained:.0f} articles/s); peak RSS "
        f"{high_water_mb:.0f} MB (sampled {peak['rss_mb']:.0f}), bound {BURST_PEAK_RSS_MB} MB"
    )

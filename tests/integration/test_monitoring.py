"""Monitoring against a running worker: promtool, a real Prometheus server, headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import Pipeline, free_port
from tests.integration.test_backbone import encoded

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def headless_flags(profile_root: Path) -> list[str]:
    """Chromium headless and quiet: no GPU, no background calls to a network we lack."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile_root / 'profile'}",
    ]


def require(program: str) -> str:
    path = shutil.which(program)
    assert path, f"{program} is needed for this test (Debian package: see .ci/run)"
    return path


def test_metrics_pass_promtool_and_prometheus_scrapes_throughput_and_latency(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.start_worker()
    web = f"127.0.0.1:{pipeline.web_ports[-1]}"
    pipeline.produce(encoded(range(30)))
    deadline = time.monotonic() + 90
    # Wait for all 30 events and for the lag gauge, which the worker measures every 5 s.
    while not all(
        part in fetch(f"http://{web}/metrics")
        for part in (b'kind="enriched"} 30.0', b"stancewire_consumer_lag_messages{")
    ):
        assert time.monotonic() < deadline, fetch(f"http://{web}/metrics").decode()[-2000:]
        time.sleep(0.5)
    exposition = fetch(f"http://{web}/metrics")
    check = subprocess.run(
        [require("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    assert b"stancewire_consumer_lag_messages{" in exposition
    assert b"process_resident_memory_bytes" in exposition

    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: stancewire\n    static_configs: [{{targets: ['{web}']}}]\n"
    )
    with (tmp_path / "prometheus.log").open("wb") as log:
        server = subprocess.Popen(
            [
                require("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        queries = {
            "throughput": "sum(rate(stancewire_events_out_total[1m]))",
            "p95": "histogram_quantile(0.95, sum by (le) "
            "(rate(stancewire_end_to_end_latency_seconds_bucket[1m])))",
        }
        answers: dict[str, float] = {}
        deadline = time.monotonic() + 90
        batch = 100
        while len(answers) < len(queries) and time.monotonic() < deadline:
            # Rates need counters that move between scrapes: keep articles flowing.
            pipeline.produce(encoded(range(batch, batch + 3)))
            batch += 3
            for name, query in queries.items():
                try:
                    body = orjson.loads(
                        fetch(
                            f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(query)}"
                        )
                    )
                except OSError:
                    break  # the server is still starting
                result = body["data"]["result"]
                if result and float(result[0]["value"][1]) > 0:
                    answers[name] = float(result[0]["value"][1])
            time.sleep(1)
        assert set(answers) == set(queries), (tmp_path / "prometheus.log").read_text()[-2000:]
        print(f"\nPrometheus: {answers['throughput']:.2f} articles/s, p95 {answers['p95']:.3f} s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_dashboard_numbers_change_in_headless_chromium_and_top_shows_them(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.start_worker()
    url = f"http://127.0.0.1:{pipeline.web_ports[-1]}/dashboard"
    chromium = require("chromium")

    def render() -> str:
        result = subprocess.run(
            [
                chromium,
                *headless_flags(tmp_path),
                "--virtual-time-budget=3000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            timeout=120,
            check=True,
            text=True,
        )
        return result.stdout

    def enriched(dom: str) -> int:
        match = re.search(r'id="enriched">(\d+)<', dom)
        assert match, dom[:2000]
        return int(match.group(1))

    pipeline.produce(encoded(range(10)))
    time.sleep(5)
    first = enriched(render())
    pipeline.produce(encoded(range(10, 40)))
    time.sleep(8)
    second = enriched(render())
    assert first >= 1 and second > first, (first, second)

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    subprocess.run(
        [
            chromium,
            *headless_flags(tmp_path),
            "--window-size=1100,800",
            "--virtual-time-budget=3000",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000

    top = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "top",
            "--once",
            "--url",
            f"http://127.0.0.1:{pipeline.web_ports[-1]}",
        ],
        capture_output=True,
        timeout=60,
        check=True,
        text=True,
    )
    assert "throughput" in top.stdout and "enriched" in top.stdout
    assert re.search(r"enriched\s+(\d+)", top.stdout).group(1) == str(second)  # type: ignore[union-attr]

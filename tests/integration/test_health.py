"""/readyz turns ready only once the models are in and the group is joined; /healthz stays up."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from agents.broker import LocalBroker
from tests.integration.conftest import Pipeline, free_port, fresh_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def answer(port: int, page: str) -> tuple[int | None, dict[str, Any]]:
    """The status and JSON of one page, or (None, {}) while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None, {}


def poll_until(port: int, page: str, status: int, timeout_s: float) -> list[tuple[Any, ...]]:
    """Every answer until ``page`` answers ``status``; fails after ``timeout_s``."""
    seen: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code, body = answer(port, page)
        seen.append((code, body))
        if code == status:
            return seen
        time.sleep(0.2)
    pytest.fail(f"{page} never answered {status} in {timeout_s} s; last: {seen[-3:]}")


def test_readyz_follows_models_group_and_broker(tmp_path: Path) -> None:
    # A broker of the test's own: it is stopped and started again below.
    broker = LocalBroker(port=free_port(), state_dir=tmp_path / "broker")
    broker.start(timeout_s=120)
    pipeline = Pipeline(broker=broker, workdir=tmp_path, settings=fresh_settings(broker.bootstrap))
    try:
        worker, log = pipeline.spawn_worker()  # the shipped models: loading takes seconds
        port = pipeline.web_ports[-1]
        answers = poll_until(port, "/readyz", 200, timeout_s=180)
        text = log.read_text(errors="replace")
        # Ready only with both models loaded, each announced in one line.
        assert "stancewire: entity model stancewire-ner-minilm-1 loaded" in text, text[-3000:]
        assert "stancewire: stance model" in text
        assert "Loading weights" not in text
        ready = answers[-1][1]
        assert ready["joined"] and ready["input_partitions"] == pipeline.settings.partitions
        assert ready["broker_reachable"] and ready["breaker"] is None
        assert len(ready["models"]) == 2
        # Before that, the worker either did not listen yet or said it was not ready, and why.
        for code, body in answers[:-1]:
            assert code in (None, 503), (code, body)
            if code == 503:
                assert not body["ready"] and not (body["joined"] and body["broker_reachable"])
        assert answer(port, "/healthz")[0] == 200

        broker.stop()
        down = poll_until(port, "/readyz", 503, timeout_s=60)[-1][1]
        assert down["broker_reachable"] is False and down["broker_error"], down
        assert answer(port, "/healthz")[0] == 200, "the process is alive while the broker is away"
        broker.start(timeout_s=120)
        poll_until(port, "/readyz", 200, timeout_s=120)
        assert worker.poll() is None
        print(f"\n/readyz: {len(answers)} polls to ready; unready while the broker was down")
    finally:
        pipeline.stop_workers()
        broker.stop()

"""What happens to a stream of articles when workers die, join and leave, or Kafka restarts.

Each test produces a steady stream from a background thread, disturbs the system in the
middle of it, and then checks that every id came out on the enriched or dead-letter topic.
The models are switched off here: these tests are about the transport, and without the
models the worker keeps up with thousands of articles in seconds. The model stages go
through the same crash path in ``test_backbone.py``.
"""

from __future__ import annotations

import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agents.broker import LocalBroker
from agents.clients import make_producer
from agents.security import client_options
from agents.settings import Settings
from tests.integration.conftest import Pipeline, free_port, fresh_settings

pytestmark = pytest.mark.integration

NO_MODELS = {"STANCEWIRE_ENTITY_MODEL": "off", "STANCEWIRE_STANCE_MODEL": "off"}


def payload(number: int) -> bytes:
    """A valid article, except every 97th, which is broken JSON and must be dead-lettered."""
    if number % 97 == 0:
        return b'{"title": "cut off in the middle'
    return orjson.dumps(
        {
            "id": f"r-{number:05d}",
            "title": f"Port workers in Gdansk vote on strike, ballot {number}",
            "body": f"Dock workers in Gdansk voted on Thursday in ballot {number}.\n"
            "Union leaders said the result would be announced after the weekend.\n"
            "Reklam yükleniyor...",
            "source": "wire.example",
        }
    )


def ids(numbers: range) -> set[str]:
    return {f"r-{n:05d}" for n in numbers}


class Stream(threading.Thread):
    """Produces ``count`` articles keyed r-00000... at a steady rate, in the background."""

    def __init__(self, settings: Settings, count: int, rate: float, start_at: int = 0) -> None:
        super().__init__(daemon=True)
        self.settings, self.count, self.rate, self.start_at = settings, count, rate, start_at
        self.sent = 0
        self.partitions: set[int] = set()
        self.error: BaseException | None = None

    @property
    def keys(self) -> set[str]:
        return ids(range(self.start_at, self.start_at + self.count))

    def run(self) -> None:
        producer = make_producer(client_options(self.settings))
        started = time.monotonic()
        try:
            for offset in range(self.count):
                number = self.start_at + offset
                time.sleep(max(0.0, started + offset / self.rate - time.monotonic()))
                future = producer.send(
                    self.settings.input_topic,
                    key=f"r-{number:05d}".encode(),
                    value=payload(number),
                )
                future.add_callback(lambda meta: self.partitions.add(meta.partition))
                self.sent += 1
            producer.flush(timeout=120)
        except BaseException as exc:  # reported by finish(), on the test's thread
            self.error = exc
        finally:
            producer.close()

    def finish(self, timeout_s: float = 180) -> None:
        self.join(timeout_s)
        assert not self.is_alive(), "the producer did not finish"
        assert self.error is None, f"producing failed: {self.error!r}"


def wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def tally(
    arrived: dict[str, list[tuple[str, dict[str, object]]]], keys: set[str], settings: Settings
) -> dict[str, int]:
    """Counts for the report: in, enriched, dead-lettered, duplicates, lost."""
    first_topics = [arrived[k][0][0] for k in keys if k in arrived]
    return {
        "in": len(keys),
        "enriched": first_topics.count(settings.output_topic),
        "dead_lettered": first_topics.count(settings.dlq_topic),
        "duplicates": sum(len(arrived[k]) - 1 for k in keys if k in arrived),
        "lost": len(keys - arrived.keys()),
    }


def check_dead_letters(arrived: dict[str, list[tuple[str, dict[str, object]]]]) -> None:
    for key, copies in arrived.items():
        topic, value = copies[0]
        if int(key[2:]) % 97 == 0:
            assert "dlq" in topic and value["error_type"] == "InvalidJson", (key, value)
        else:
            assert "enriched" in topic and "Reklam" not in str(value["text"]), (key, value)


@pytest.mark.slow
@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_kill_9_in_the_middle_of_2000_articles_loses_nothing(
    pipeline: Pipeline, guarantee: str
) -> None:
    exactly_once = guarantee == "exactly_once"
    pipeline.extra_env |= NO_MODELS | {
        "STANCEWIRE_PROCESSING_GUARANTEE": guarantee,
        # The same id for the replacement: starting it aborts the killed one's transaction.
        "STANCEWIRE_TRANSACTIONAL_ID": f"{pipeline.settings.app_id}-worker-1",
    }
    first = pipeline.start_worker()
    watcher = pipeline.watcher(read_committed=exactly_once)
    stream = Stream(pipeline.settings, count=2000, rate=100)
    seen: dict[str, list[tuple[str, dict[str, object]]]] = {}

    def collect(seconds: float) -> None:
        for key, copies in watcher.collect(stream.keys - seen.keys(), timeout_s=seconds).items():
            seen.setdefault(key, []).extend(copies)

    stream.start()
    wait_until(lambda: stream.sent >= 700, 60, "700 articles produced")
    collect(1.0)
    assert len(seen) > 100, f"only {len(seen)} out before the kill\n{pipeline.worker_logs()}"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_after = len(seen)
    restarted = time.monotonic()
    pipeline.start_worker()
    stream.finish()
    collect(300)
    recovered = time.monotonic() - restarted
    # Copies of the last few may still be in flight: read on for a moment to count them.
    for key, copies in watcher.collect(set(), timeout_s=3).items():
        seen.setdefault(key, []).extend(copies)
    watcher.close()
    figures = tally(seen, stream.keys, pipeline.settings)
    assert figures["lost"] == 0, f"lost {figures}\n{pipeline.worker_logs()}"
    if exactly_once:  # a read_committed consumer sees each result once
        assert figures["duplicates"] == 0, f"{figures}\n{pipeline.worker_logs()}"
    check_dead_letters(seen)
    print(
        f"\nkill -9 ({guarantee}) after {killed_after} out: {figures}, "
        f"{recovered:.1f} s from restart to the last article"
    )


def test_a_worker_joins_and_another_leaves_mid_stream(pipeline: Pipeline) -> None:
    pipeline.extra_env |= NO_MODELS
    first = pipeline.start_worker()
    watcher = pipeline.watcher()
    stream = Stream(pipeline.settings, count=900, rate=30)
    stream.start()
    wait_until(lambda: stream.sent >= 150, 60, "150 articles produced")
    pipeline.start_worker()  # joins: the four partitions are split between the two
    joined_at = stream.sent
    wait_until(lambda: stream.sent >= joined_at + 200, 60, "200 more articles produced")
    left_at = stream.sent
    first.send_signal(signal.SIGTERM)  # leaves: the other one takes all four
    assert first.wait(timeout=30) == 0, pipeline.worker_logs()
    stream.finish()
    arrived = watcher.collect(stream.keys, timeout_s=180)
    # After the last rebalance, one article per partition: none of them may be stuck.
    late = Stream(pipeline.settings, count=40, rate=200, start_at=5000)
    late.start()
    late.finish()
    assert late.partitions == {0, 1, 2, 3}
    arrived |= watcher.collect(late.keys, timeout_s=60)
    watcher.close()
    keys = stream.keys | late.keys
    figures = tally(arrived, keys, pipeline.settings)
    assert figures["lost"] == 0, f"lost {figures}\n{pipeline.worker_logs()}"
    check_dead_letters(arrived)
    assert pipeline.workers[1].poll() is None
    print(f"\nrebalance (joined at {joined_at}, left at {left_at}): {figures}")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of this test's own, so restarting it disturbs no other test."""
    local = LocalBroker(port=free_port(), state_dir=tmp_path / "broker")
    local.start(timeout_s=120)
    yield local
    local.stop()


def published_so_far(web_port: int) -> float:
    """Records the worker has published, from its /metrics (no Kafka client needed)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=2) as page:
            text = page.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("stancewire_events_out_total{")
    )


def test_the_worker_rides_out_a_broker_restart_in_the_middle_of_publishing(
    own_broker: LocalBroker, tmp_path: Path
) -> None:
    settings = fresh_settings(own_broker.bootstrap)
    pipeline = Pipeline(broker=own_broker, workdir=tmp_path, settings=settings)
    pipeline.extra_env |= NO_MODELS | {"STANCEWIRE_BATCH_SIZE": "8"}
    try:
        # A backlog the worker drains as fast as it can, so sends are in flight when the
        # broker goes away. No client of this process stays connected across the outage:
        # kafka-python leaves the sockets of failed reconnects unclosed, which pytest
        # reports as errors; the worker's progress is read from its /metrics instead.
        backlog = Stream(settings, count=3000, rate=5000)
        backlog.start()
        backlog.finish()
        worker = pipeline.start_worker()
        wait_until(lambda: published_so_far(pipeline.web_ports[-1]) >= 600, 120, "600 out")
        own_broker.stop()
        down = time.monotonic()
        at_stop = published_so_far(pipeline.web_ports[-1])
        time.sleep(5)
        own_broker.start(timeout_s=120)
        restarted = time.monotonic()
        reader = pipeline.watcher(from_start=True)
        arrived = reader.collect(ids(range(3000)), timeout_s=180)
        recovered = time.monotonic() - restarted
        reader.close()
        figures = tally(arrived, ids(range(3000)), settings)
        assert figures["lost"] == 0, f"lost {figures}\n{pipeline.worker_logs()}"
        # A send that failed during the outage is retried, never dead-lettered: the dead
        # letters are exactly the broken-JSON articles.
        check_dead_letters(arrived)
        assert worker.poll() is None, "the worker must reconnect, not exit"
        assert at_stop < 3000, "the backlog was drained before the broker stopped"
        print(
            f"\nbroker restart while publishing ({restarted - down:.1f} s down, "
            f"{at_stop:.0f} of 3000 out at the stop): {figures}, "
            f"{recovered:.1f} s from restart to the last article"
        )
    finally:
        pipeline.stop_workers(signal.SIGKILL)

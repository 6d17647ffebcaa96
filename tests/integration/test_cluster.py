"""A three-broker KRaft cluster: a broker dies under a running worker, and workers roll.

The cluster is the project's own (``LocalCluster``, as ``stancewire broker start --nodes 3``
makes it): every topic has three copies and a write needs two, so one broker may die.
The models are off: these tests are about the transport (see ``test_reliability.py``).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.partitioner.default import murmur2

from agents.cluster import LocalCluster
from tests.integration.conftest import Pipeline
from tests.integration.test_reliability import (
    NO_MODELS,
    Stream,
    check_dead_letters,
    tally,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # kafka-python leaves the sockets of its failed reconnects to a dead broker unclosed;
    # its clients here stay connected across the kill on purpose.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

Copies = dict[str, list[tuple[str, dict[str, Any]]]]


def partition_of(key: str, partitions: int = 4) -> int:
    """The input partition of a key, as the producer's default partitioner picks it."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def describe_partitions(cluster: LocalCluster, topic: str) -> list[dict[str, Any]]:
    """Each partition's ``leader_id`` and ``isr_nodes``, from whichever node answers."""
    admin = KafkaAdminClient(
        bootstrap_servers=cluster.bootstrap.split(","), client_id="stancewire-test-admin"
    )
    try:
        (description,) = admin.describe_topics([topic])
        return list(description["partitions"])
    finally:
        admin.close()


def live_brokers(cluster: LocalCluster) -> set[int]:
    """Node ids the cluster's metadata lists as unfenced brokers."""
    admin = KafkaAdminClient(
        bootstrap_servers=cluster.bootstrap.split(","), client_id="stancewire-test-admin"
    )
    try:
        brokers = admin.describe_cluster()["brokers"]
        return {b["broker_id"] for b in brokers if not b.get("is_fenced", False)}
    finally:
        admin.close()


class Reader:
    """Reads results as they arrive and notes when each key first came out."""

    def __init__(self, pipeline: Pipeline, *, read_committed: bool) -> None:
        self.watcher = pipeline.watcher(read_committed=read_committed)
        self.copies: Copies = {}
        self.first_seen: dict[str, float] = {}

    def read(self, seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            for topic, key, value in self.watcher.poll(timeout_s=0.2):
                name = key.decode() if key is not None else ""
                self.copies.setdefault(name, []).append((topic, value))
                self.first_seen.setdefault(name, time.monotonic())

    def read_all(self, stream: Stream, timeout_s: float) -> None:
        """Until the stream has ended and every one of its keys came out."""
        self.read(
            timeout_s, until=lambda: not stream.is_alive() and stream.keys <= self.copies.keys()
        )
        self.read(3.0)  # copies of the last few may still be in flight: count them too
        self.watcher.close()


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_the_worker_rides_out_kill_9_of_the_leader_of_most_input(
    cluster: LocalCluster, cluster_pipeline: Pipeline, guarantee: str
) -> None:
    pipeline, settings = cluster_pipeline, cluster_pipeline.settings
    exactly_once = guarantee == "exactly_once"
    pipeline.extra_env |= NO_MODELS | {"STANCEWIRE_PROCESSING_GUARANTEE": guarantee}
    worker = pipeline.start_worker()
    reader = Reader(pipeline, read_committed=exactly_once)
    stream = Stream(settings, count=2000, rate=100)
    stream.start()
    # Mid-stream: a third produced and some out (a transaction per batch starts slower).
    reader.read(60, until=lambda: stream.sent >= 600 and len(reader.copies) >= 200)
    assert len(reader.copies) >= 200, f"only {len(reader.copies)} out\n{pipeline.worker_logs()}"

    leaders = [p["leader_id"] for p in describe_partitions(cluster, settings.input_topic)]
    victim = max(set(leaders), key=leaders.count)
    led = {
        p["partition_index"]
        for p in describe_partitions(cluster, settings.input_topic)
        if p["leader_id"] == victim
    }
    assert cluster.node(victim).kill()
    killed_at, sent_at_kill = time.monotonic(), stream.sent

    reader.read_all(stream, timeout_s=300)
    stream.finish(timeout_s=10)
    assert worker.poll() is None and len(pipeline.workers) == 1, (
        f"the worker must carry on through the failover\n{pipeline.worker_logs()}"
    )
    figures = tally(reader.copies, stream.keys, settings)
    assert figures["lost"] == 0, f"lost {figures}\n{pipeline.worker_logs()}"
    if exactly_once:  # a read_committed consumer sees each result once
        assert figures["duplicates"] == 0, f"{figures}\n{pipeline.worker_logs()}"
    check_dead_letters(reader.copies)
    # Recovered once each partition the victim led serves articles sent after the kill.
    after_kill = [k for k in stream.keys if int(k[2:]) >= sent_at_kill]
    recovery = max(
        min(reader.first_seen[k] for k in after_kill if partition_of(k) == partition) - killed_at
        for partition in led
    )

    restarted = time.monotonic()
    cluster.node(victim).start(timeout_s=120)

    def rejoined() -> bool:
        in_sync = all(
            victim in p["isr_nodes"] for p in describe_partitions(cluster, settings.input_topic)
        )
        return in_sync and victim in live_brokers(cluster)

    wait_until(rejoined, 120, f"broker {victim} back in the ISR of every input partition")
    rejoin = time.monotonic() - restarted
    print(
        f"\nkill -9 of broker {victim} (led partitions {sorted(led)}) after {sent_at_kill} "
        f"sent ({guarantee}): {figures}, {recovery:.1f} s until its partitions served again; "
        f"back in the ISR {rejoin:.1f} s after its restart"
    )


def test_a_rolling_restart_of_two_workers_loses_nothing(cluster_pipeline: Pipeline) -> None:
    pipeline, settings = cluster_pipeline, cluster_pipeline.settings
    pipeline.extra_env |= NO_MODELS
    first, second = pipeline.start_worker(), pipeline.start_worker()
    reader = Reader(pipeline, read_committed=False)
    stream = Stream(settings, count=2400, rate=40)
    stream.start()
    restarts = []
    for worker in (first, second):
        reader.read(60, until=lambda mark=stream.sent: stream.sent >= mark + 200)
        worker.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        while worker.poll() is None and time.monotonic() - stopping < 30:
            reader.read(0.5)
        assert worker.returncode == 0, pipeline.worker_logs()
        started = time.monotonic()
        pipeline.start_worker()
        restarts.append((stream.sent, time.monotonic() - stopping, time.monotonic() - started))
        assert stream.is_alive(), "articles must still flow while the workers restart"
    reader.read_all(stream, timeout_s=180)
    stream.finish(timeout_s=10)
    figures = tally(reader.copies, stream.keys, settings)
    assert figures["lost"] == 0, f"lost {figures}\n{pipeline.worker_logs()}"
    check_dead_letters(reader.copies)
    assert all(w.poll() is None for w in pipeline.workers[2:]), pipeline.worker_logs()
    steps = "; ".join(
        f"restarted at {at} sent, down {down:.1f} s (start {start:.1f} s)"
        for at, down, start in restarts
    )
    print(f"\nrolling restart of two workers: {figures}; {steps}")

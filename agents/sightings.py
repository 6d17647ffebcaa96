"""Per-source line counts kept in a compacted Kafka topic, read in full when a worker starts.

This replaces a Faust table. Faust's table recovery was seen to hang after a rebalance
(a worker that took over a partition never received that partition's changelog, so the
partition stayed stuck); counts that only guide boilerplate learning do not need
partition-exact state, so a worker now reads the whole topic with a plain consumer before
it joins the group, counts in memory, and writes each new total back to the topic.

Several workers each learn from the articles they see, on top of everything written
before they started; a key written by two workers keeps the larger count.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from agents.security import client_options
from agents.settings import Settings

log = logging.getLogger(__name__)


def sightings_topic(settings: Settings) -> str:
    """The compacted topic of one app's line counts."""
    return f"{settings.app_id}-line-sightings"


def encode_count(count: int) -> bytes:
    return str(count).encode()


class SightingsBook:
    """The counts in memory, capped at ``max_keys``: the rarest, then the oldest, go first.

    Sources are chosen by producers, so without a cap the counts (one key per source and
    edge line) would grow for as long as the worker runs, and every start-up would read
    more. Past the cap the book drops a tenth of its keys, those seen in fewest articles
    and, among equals, those seen longest ago, and writes a tombstone for each so that
    compaction removes them from the topic too.
    """

    def __init__(self, counts: dict[str, int], *, max_keys: int) -> None:
        self.max_keys = max_keys
        self.counts = counts  # shared with the LineMemory that reads it
        # A tick per key for age: load order first (the topic's order), then each sighting.
        self._tick = 0
        self._last_seen: dict[str, int] = {}
        for key in counts:
            self._touch(key)
        self.evicted = 0

    def _touch(self, key: str) -> None:
        self._tick += 1
        self._last_seen[key] = self._tick

    def record(self, sightings: dict[str, int]) -> list[tuple[bytes, bytes | None]]:
        """Add new sightings; the records to write back: new totals and eviction tombstones."""
        writes: list[tuple[bytes, bytes | None]] = []
        for key, seen in sightings.items():
            self.counts[key] = self.counts.get(key, 0) + seen
            self._touch(key)
            writes.append((key.encode(), encode_count(self.counts[key])))
        if len(self.counts) > self.max_keys:
            for key in self._evict(len(self.counts) - self.max_keys * 9 // 10):
                writes.append((key.encode(), None))
        return writes

    def _evict(self, how_many: int) -> list[str]:
        doomed = sorted(self.counts, key=lambda k: (self.counts[k], self._last_seen[k]))
        doomed = doomed[:how_many]
        for key in doomed:
            del self.counts[key]
            del self._last_seen[key]
        self.evicted += len(doomed)
        if doomed:
            log.info("line counts over %d keys: dropped the %d rarest", self.max_keys, len(doomed))
        return doomed


def load_counts(settings: Settings, *, stall_timeout_s: float = 60.0) -> dict[str, int]:
    """Every count in the topic (the largest value per key), read from the start to the end.

    The read takes as long as the topic needs; it fails only when no record arrives for
    ``stall_timeout_s`` while some are still due. Tombstones remove their key. Keys come
    in the order they were last written, oldest first.
    """
    consumer = KafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        client_id="stancewire-sightings",
    )
    counts: dict[str, int] = {}
    try:
        topic = sightings_topic(settings)
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return counts
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends: dict[Any, int] = consumer.end_offsets(partitions)
        last_progress = time.monotonic()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() - last_progress > stall_timeout_s:
                raise TimeoutError(
                    f"reading {topic}: no record for {stall_timeout_s:.0f} s with "
                    f"{sum(end - consumer.position(tp) for tp, end in ends.items())} still due"
                )
            for messages in consumer.poll(timeout_ms=500, max_records=10_000).values():
                last_progress = time.monotonic()
                for message in messages:
                    _apply(counts, message.key, message.value, topic)
    finally:
        consumer.close()
    return counts


def _apply(
    counts: dict[str, int], raw_key: bytes | None, raw_value: bytes | None, topic: str
) -> None:
    if raw_key is None:
        return
    key = raw_key.decode("utf-8", "replace")
    if raw_value is None:  # a tombstone: the key was evicted
        counts.pop(key, None)
        return
    try:
        value = int(raw_value)
    except ValueError:
        log.warning("ignoring a malformed count under %r in %s", key, topic)
        return
    value = max(counts.pop(key, 0), value)  # popped so the key moves to the end: newest
    counts[key] = value

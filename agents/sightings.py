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


def load_counts(settings: Settings, *, timeout_s: float = 120.0) -> dict[str, int]:
    """Every count in the topic (the largest value per key), read from the start to the end."""
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
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took over {timeout_s:.0f} s")
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    if message.key is None or message.value is None:
                        continue
                    key = message.key.decode("utf-8", "replace")
                    try:
                        value = int(message.value)
                    except ValueError:
                        log.warning("ignoring a malformed count under %r in %s", key, topic)
                        continue
                    counts[key] = max(counts.get(key, 0), value)
    finally:
        consumer.close()
    return counts

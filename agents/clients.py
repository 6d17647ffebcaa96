"""Plain Kafka producer and consumer (kafka-python) used by the command line and the tests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.decoding import article_id
from schemas import RawArticle


def article_key(article: Any) -> bytes:
    """The message key: the article id, derived the same way the worker derives it."""
    if isinstance(article, dict) and isinstance(article.get("id"), str) and article["id"]:
        return str(article["id"]).encode()
    try:
        return article_id(RawArticle.model_validate(article)).encode()
    except ValueError:
        # An invalid article still gets a stable key so its dead letter can be traced.
        digest = hashlib.sha256(orjson.dumps(article, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return f"invalid-{digest[:24]}".encode()


def make_producer(options: dict[str, Any]) -> KafkaProducer:
    """A producer that waits for all replicas; ``options`` come from ``client_options``."""
    return KafkaProducer(
        **options,
        acks="all",
        linger_ms=5,
        max_request_size=16 * 1024 * 1024,
        client_id="stancewire-cli",
    )


def produce_articles(producer: KafkaProducer, topic: str, articles: Iterable[Any]) -> Iterator[str]:
    """Send each article keyed by its id and yield the id once the broker has it."""
    for article in articles:
        key = article_key(article)
        producer.send(topic, key=key, value=orjson.dumps(article)).get(timeout=30)
        yield key.decode()


def consume_events(
    options: dict[str, Any],
    topic: str,
    *,
    from_beginning: bool,
    follow: bool,
    limit: int | None = None,
    idle_timeout_s: float = 5.0,
) -> Iterator[dict[str, Any]]:
    """Events of a topic as dicts; without ``follow`` it stops once the topic is idle."""
    consumer = KafkaConsumer(
        topic,
        **options,
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
        consumer_timeout_ms=-1 if follow else int(idle_timeout_s * 1000),
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        client_id="stancewire-cli",
    )
    try:
        for count, message in enumerate(consumer, start=1):
            yield readable(message)
            if limit is not None and count >= limit:
                return
    finally:
        consumer.close()


def readable(message: Any) -> dict[str, Any]:
    """A consumed record as a dict; a tombstone or a non-JSON value as a note saying so.

    Any producer can write to a topic, so a reader must not stop at the first record that
    is not one of ours.
    """
    if message.value is None:
        problem = "a tombstone (no value)"
    else:
        try:
            value = orjson.loads(message.value)
        except orjson.JSONDecodeError as exc:
            problem = f"not JSON ({exc})"
        else:
            if isinstance(value, dict):
                return value
            problem = f"JSON but not an object ({type(value).__name__})"
    key = message.key.decode("utf-8", "replace") if message.key is not None else None
    return {
        "unreadable": problem,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "key": key,
        "value_prefix": (message.value or b"")[:120].decode("utf-8", "replace"),
    }


class TopicWatcher:
    """Reads what arrives on some topics from the moment it is created.

    Partitions are assigned and positioned at their ends up front, so nothing produced after
    construction can be missed, whichever consumer-group state the topics have. With
    ``from_start`` it reads the topics from their oldest messages instead; with
    ``read_committed`` it sees only messages of committed transactions.
    """

    def __init__(
        self,
        options: dict[str, Any],
        topics: list[str],
        *,
        from_start: bool = False,
        read_committed: bool = False,
    ) -> None:
        self.consumer = KafkaConsumer(
            **options,
            isolation_level="read_committed" if read_committed else "read_uncommitted",
            group_id=None,
            enable_auto_commit=False,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            client_id="stancewire-watcher",
        )
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            raise RuntimeError(f"none of the topics {topics} exists yet")
        self.consumer.assign(partitions)
        if from_start:
            self.consumer.seek_to_beginning(*partitions)
        else:
            self.consumer.seek_to_end(*partitions)
        for partition in partitions:  # resolve the end positions now, not lazily later
            self.consumer.position(partition)

    def poll(self, timeout_s: float = 0.5) -> list[tuple[str, bytes | None, dict[str, Any]]]:
        """The (topic, key, decoded value) of the messages that arrived since the last poll."""
        batches = self.consumer.poll(timeout_ms=int(timeout_s * 1000))
        return [
            (message.topic, message.key, orjson.loads(message.value))
            for messages in batches.values()
            for message in messages
        ]

    def collect(
        self, keys: set[str], *, timeout_s: float
    ) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """What arrives keyed by one of ``keys``, until each key was seen or time is up.

        With no ``keys``, everything that arrives within ``timeout_s``.
        """
        seen: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not (keys and keys <= seen.keys()):
            for topic, key, value in self.poll():
                name = key.decode("utf-8", "replace") if key is not None else ""
                seen.setdefault(name, []).append((topic, value))
        return seen

    def close(self) -> None:
        self.consumer.close()

"""Replays dead letters: their payload (or a fixed one) back to the input topic, once each.

Each dead letter carries the raw payload and the original key, so replaying needs no
hand decoding. Every replay is recorded in the app's compacted replays topic, keyed by
the dead letter's place (topic/partition/offset), so the same dead letter is not replayed
twice by mistake, from any machine; ``force`` replays it anyway.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from agents.clients import make_producer
from agents.settings import Settings
from schemas import DeadLetter


class ReplayError(Exception):
    """A replay that cannot go as asked; the message says why and what to do."""


def replays_topic(settings: Settings) -> str:
    """The compacted topic that records which dead letters were replayed."""
    return f"{settings.app_id}-replays"


@dataclass(frozen=True)
class Selection:
    """Which dead letters to replay; every given filter must match."""

    stage: str | None = None
    error_type: str | None = None
    ids: frozenset[str] = frozenset()  # article ids or message keys
    since: datetime | None = None
    limit: int | None = None

    def matches(self, letter: DeadLetter) -> bool:
        return (
            (self.stage is None or letter.stage.value == self.stage)
            and (self.error_type is None or letter.error_type == self.error_type)
            and (not self.ids or bool({letter.article_id, letter.key} & self.ids))
            and (self.since is None or letter.failed_at >= self.since)
        )


@dataclass(frozen=True)
class Planned:
    """One dead letter to replay, where it sits, and whether it went before."""

    place: str  # dead-letter topic/partition/offset
    letter: DeadLetter
    replayed_before: bool
    key: bytes | None  # the dead letter's Kafka key: the original message's key


def _read_to_end(options: dict[str, Any], topic: str) -> Iterator[Any]:
    """Every record of ``topic`` from its start to its end as of now."""
    consumer = KafkaConsumer(
        **options,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=64 * 1024 * 1024,
        client_id="stancewire-replay",
    )
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for messages in consumer.poll(timeout_ms=1000).values():
                for message in messages:
                    if message.offset < ends[TopicPartition(message.topic, message.partition)]:
                        yield message
    finally:
        consumer.close()


def plan(options: dict[str, Any], settings: Settings, selection: Selection) -> list[Planned]:
    """The dead letters that ``selection`` picks, oldest first, up to its limit."""
    done = {
        message.key.decode()
        for message in _read_to_end(options, replays_topic(settings))
        if message.key is not None and message.value is not None
    }
    chosen: list[Planned] = []
    for message in _read_to_end(options, settings.dlq_topic):
        if message.value is None:
            continue
        try:
            letter = DeadLetter.model_validate(orjson.loads(message.value))
        except (orjson.JSONDecodeError, ValidationError):
            continue  # not a dead letter of ours; nothing to replay
        if not selection.matches(letter):
            continue
        place = f"{message.topic}/{message.partition}/{message.offset}"
        chosen.append(Planned(place, letter, place in done, message.key))
        if selection.limit is not None and len(chosen) >= selection.limit:
            break
    return chosen


def replay(
    options: dict[str, Any],
    settings: Settings,
    planned: list[Planned],
    *,
    payload_file: Path | None = None,
    force: bool = False,
) -> list[Planned]:
    """Produce each planned dead letter's payload to the input topic; return those sent.

    Raises ``ReplayError`` before sending anything when one of them cannot go: replayed
    before (without ``force``), a truncated payload without a replacement, or a
    replacement payload for more than one dead letter.
    """
    if payload_file is not None and len(planned) != 1:
        raise ReplayError(
            f"--payload replaces one dead letter's payload, and {len(planned)} are selected: "
            "narrow the selection (--id, --limit 1)"
        )
    for item in planned:
        if item.replayed_before and not force:
            raise ReplayError(
                f"dead letter {item.place} ({item.letter.article_id or item.letter.key}) was "
                "replayed before; pass --force to replay it again"
            )
        if item.letter.payload_truncated and payload_file is None:
            raise ReplayError(
                f"dead letter {item.place} holds only the first bytes of its "
                f"{item.letter.payload_size}-byte payload; give the whole one with --payload FILE"
            )
    producer = make_producer(options)
    try:
        for item in planned:
            letter = item.letter
            payload = (
                payload_file.read_bytes()
                if payload_file is not None
                else base64.b64decode(letter.payload_base64)
            )
            headers = [
                ("stancewire-replay-of", item.place.encode()),
                ("stancewire-replayed-at", datetime.now(UTC).isoformat().encode()),
                ("stancewire-replay-payload", b"replaced" if payload_file else b"original"),
                (
                    "stancewire-original-error",
                    f"{letter.stage.value}: {letter.error_type}".encode(),
                ),
            ]
            producer.send(settings.input_topic, key=item.key, value=payload, headers=headers).get(
                30
            )
            note = {"replayed_at": datetime.now(UTC).isoformat(), "to": settings.input_topic}
            producer.send(
                replays_topic(settings), key=item.place.encode(), value=orjson.dumps(note)
            ).get(30)
    finally:
        producer.close()
    return planned

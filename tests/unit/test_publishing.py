"""Publishing rules, with a fake broker: retry what passes, replace what is refused, once."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable
from typing import Any

import pytest
from aiokafka import errors as kafka_errors

from agents.publishing import (
    RefusedRecords,
    is_transient,
    publish_each,
    publish_transactionally,
)
from pipeline.enrichment import Enricher, Received
from pipeline.errors import PayloadTooLarge
from pipeline.outputs import Destination, OutputRecord, dead_letter, output_record
from schemas import DeadLetter


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(delay: float) -> float:
        return delay

    monkeypatch.setattr("agents.publishing.backoff", instant)


def batch_of(count: int) -> tuple[list[Received], list[OutputRecord]]:
    batch = [
        Received(payload=b'{"title": "T%d", "body": "Story %d."}' % (n, n), key=b"k%d" % n)
        for n in range(count)
    ]
    results = Enricher(max_payload_bytes=1 << 20).enrich_batch(batch)
    pairs = zip(batch, results, strict=True)
    return batch, [output_record(r, e, max_bytes=1 << 20) for r, e in pairs]


class FakeBroker:
    """Acknowledges sends, failing the first ones as told (per record key)."""

    def __init__(self, failures: dict[bytes, list[BaseException]], *, at_send: bool) -> None:
        self.failures, self.at_send = failures, at_send
        self.sent: list[tuple[Destination, bytes | None, bytes]] = []

    async def send(self, record: OutputRecord) -> Any:
        destination, key, value = record.destination, record.key, record.value
        queued = self.failures.get(key or b"", [])
        error = queued.pop(0) if queued else None
        if error is not None and self.at_send:
            raise error
        acknowledgement = asyncio.get_running_loop().create_future()
        if error is None:
            self.sent.append((destination, key, value))
            acknowledgement.set_result(None)
        else:
            acknowledgement.set_exception(error)
        return acknowledgement


def test_transient_and_permanent_errors_are_told_apart() -> None:
    assert is_transient(kafka_errors.KafkaTimeoutError())
    assert is_transient(kafka_errors.NotLeaderForPartitionError())
    assert is_transient(kafka_errors.KafkaConnectionError())
    assert not is_transient(kafka_errors.MessageSizeTooLargeError())
    assert not is_transient(kafka_errors.TopicAuthorizationFailedError())
    assert not is_transient(ValueError("a bug"))


@pytest.mark.parametrize("at_send", [True, False])
def test_a_timeout_is_retried_and_never_dead_letters_a_good_event(at_send: bool) -> None:
    batch, records = batch_of(3)
    broker = FakeBroker(
        {b"k1": [kafka_errors.KafkaTimeoutError(), kafka_errors.RequestTimedOutError()]},
        at_send=at_send,
    )
    retries: list[BaseException] = []
    published = asyncio.run(
        publish_each(batch, records, broker.send, retries.append, max_bytes=1 << 20)
    )
    assert [r.destination for r in published] == [Destination.ENRICHED] * 3
    assert sorted(key for _, key, _ in broker.sent) == [b"k0", b"k1", b"k2"]
    assert len(retries) == 2


@pytest.mark.parametrize("at_send", [True, False])
def test_a_refused_event_is_dead_lettered_with_its_payload_once(at_send: bool) -> None:
    batch, records = batch_of(2)
    broker = FakeBroker({b"k0": [kafka_errors.MessageSizeTooLargeError()]}, at_send=at_send)
    published = asyncio.run(
        publish_each(batch, records, broker.send, lambda exc: None, max_bytes=1 << 20)
    )
    first = published[0]
    assert first.destination is Destination.DEAD_LETTER
    assert isinstance(first.result, DeadLetter)
    assert first.result.stage.value == "publish"
    assert first.result.error_type == "MessageSizeTooLargeError"
    assert base64.b64decode(first.result.payload_base64) == batch[0].payload
    assert [d for d, _, _ in broker.sent].count(Destination.DEAD_LETTER) == 1
    assert published[1].destination is Destination.ENRICHED


@pytest.mark.parametrize("at_send", [True, False])
def test_a_refused_dead_letter_is_sent_again_without_its_payload_then_given_up(
    at_send: bool,
) -> None:
    batch, records = batch_of(1)
    too_large = kafka_errors.MessageSizeTooLargeError
    broker = FakeBroker({b"k0": [too_large(), too_large()]}, at_send=at_send)
    (published,) = asyncio.run(
        publish_each(batch, records, broker.send, lambda exc: None, max_bytes=1 << 20)
    )
    assert isinstance(published.result, DeadLetter)
    assert published.result.payload_base64 == "" and published.result.payload_truncated
    assert published.result.payload_size == len(batch[0].payload)
    assert "payload left out" in published.result.message
    broker = FakeBroker({b"k0": [too_large(), too_large(), too_large()]}, at_send=at_send)
    with pytest.raises(too_large):  # not even the smallest record fits: a broken topic
        asyncio.run(publish_each(batch, records, broker.send, lambda exc: None, max_bytes=1 << 20))


def test_an_infrastructure_fault_is_raised() -> None:
    batch, records = batch_of(1)
    broker = FakeBroker({b"k0": [kafka_errors.TopicAuthorizationFailedError()]}, at_send=False)
    with pytest.raises(kafka_errors.TopicAuthorizationFailedError):
        asyncio.run(publish_each(batch, records, broker.send, lambda exc: None, max_bytes=1 << 20))


def test_a_transaction_with_a_refused_record_is_retried_with_it_replaced() -> None:
    batch, records = batch_of(3)
    attempts: list[list[Destination]] = []
    failures: list[BaseException] = [
        RefusedRecords({2: kafka_errors.MessageSizeTooLargeError()}),
        kafka_errors.KafkaTimeoutError(),  # then the broker is slow once
    ]

    def commit(shaped: list[OutputRecord]) -> Awaitable[None]:
        async def run() -> None:
            attempts.append([r.destination for r in shaped])
            if failures:
                raise failures.pop(0)

        return run()

    retries: list[BaseException] = []
    published = asyncio.run(
        publish_transactionally(batch, records, commit, retries.append, max_bytes=1 << 20)
    )
    enriched, dead = Destination.ENRICHED, Destination.DEAD_LETTER
    assert attempts == [[enriched] * 3, [enriched, enriched, dead], [enriched, enriched, dead]]
    assert published[2].result.error_type == "MessageSizeTooLargeError"  # type: ignore[union-attr]
    assert len(retries) == 1


def test_an_oversize_input_dead_letter_is_sent_truncated_and_not_refused() -> None:
    payload = b"x" * 300_000
    received = Received(payload=payload, key=b"big")
    letter = dead_letter(received, PayloadTooLarge("too big"), max_bytes=100_000)
    record = output_record(received, letter, max_bytes=100_000)
    limit = 100_000

    async def send(record: OutputRecord) -> Any:
        if len(record.value) + len(record.key or b"") > limit:
            raise kafka_errors.MessageSizeTooLargeError()

        async def ack() -> None:
            return None

        return ack()

    (published,) = asyncio.run(
        publish_each([received], [record], send, lambda exc: None, max_bytes=limit)
    )
    assert isinstance(published.result, DeadLetter) and published.result.payload_truncated
    assert payload.startswith(base64.b64decode(published.result.payload_base64))
    assert len(published.result.payload_base64) > 90_000  # the prefix was kept, not dropped

"""Exactly-once publishing: a batch's results and its input offsets commit in one transaction.

Faust's own ``processing_guarantee="exactly_once"`` picks a transactional producer by the
*output* partition and only knows the topics the app consumes, so it cannot send to the
enriched and dead-letter topics here. Instead, in exactly-once mode, one aiokafka
transactional producer per worker sends every result of a batch, adds the batch's next
offsets for the consumer group to the same transaction, and commits. Faust then commits
nothing itself (the ack guard in ``agents/app.py`` refuses every acknowledgement).

A worker killed mid-batch leaves an open transaction; the broker aborts it once
``TRANSACTION_TIMEOUT_MS`` has passed (or at once, when a worker with the same
transactional id starts), so consumers reading with ``isolation_level=read_committed``
never see its results, and the restarted worker publishes them once.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from agents.publishing import RefusedRecords
from agents.security import faust_credentials
from agents.settings import Settings
from pipeline.outputs import OutputRecord

log = logging.getLogger(__name__)

TRANSACTION_TIMEOUT_MS = 15_000


def producer_options(
    settings: Settings, *, max_request_size: int, client_id: str
) -> dict[str, Any]:
    """An idempotent aiokafka producer that waits for all in-sync replicas."""
    return {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "enable_idempotence": True,
        "acks": "all",
        "max_request_size": max_request_size,
        "client_id": client_id,
        **credentials_to_aiokafka_auth(faust_credentials(settings)),
    }


class IdempotentSender:
    """At-least-once sends of results through one idempotent producer.

    Faust's own producer is not idempotent outside transactions: a send it retries after a
    lost acknowledgement (a leader moving, say) can be written twice. With idempotence the
    broker drops such a repeat, so duplicates come only from re-read batches.
    """

    def __init__(self, settings: Settings, *, max_request_size: int) -> None:
        self._options = producer_options(
            settings,
            max_request_size=max_request_size,
            client_id=f"stancewire-{settings.app_id}-results",
        )
        self._producer: AIOKafkaProducer | None = None

    async def send(self, topic: str, record: OutputRecord) -> Any:
        """Queue one record; returns the future of the broker's acknowledgement."""
        producer = await self.start()
        return await producer.send(
            topic, key=record.key, value=record.value, headers=list(record.headers)
        )

    async def start(self) -> AIOKafkaProducer:
        """Connect (inside the event loop); later calls return the same producer."""
        if self._producer is None:
            producer = AIOKafkaProducer(**self._options)
            await producer.start()
            self._producer = producer
        return self._producer


class TransactionalPublisher:
    """Publishes batches atomically with their consumer offsets."""

    def __init__(self, settings: Settings, *, max_request_size: int) -> None:
        self.group_id = settings.app_id
        self.transactional_id = (
            settings.transactional_id or f"{settings.app_id}-{socket.gethostname()}"
        )
        self._options: dict[str, Any] = {
            **producer_options(
                settings,
                max_request_size=max_request_size,
                client_id=f"stancewire-{self.transactional_id}",
            ),
            "transactional_id": self.transactional_id,
            "transaction_timeout_ms": TRANSACTION_TIMEOUT_MS,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> AIOKafkaProducer:
        """Connect (inside the event loop) and fence any earlier producer with the same id."""
        if self._producer is None:
            producer = AIOKafkaProducer(**self._options)
            await producer.start()
            self._producer = producer
            log.info("exactly-once publishing as transactional id %s", self.transactional_id)
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(
        self,
        messages: Sequence[tuple[str, OutputRecord]],
        offsets: dict[tuple[str, int], int],
    ) -> None:
        """Send ``(topic, record)`` messages and commit ``offsets`` (next to read), atomically.

        When a send fails, the transaction is aborted and ``RefusedRecords`` says which
        messages failed and why; other failures abort it and are raised as they are. Either
        way nothing of it is visible to read_committed consumers, and the caller must not
        acknowledge the batch.
        """
        producer = await self.start()
        await producer.begin_transaction()
        try:
            deliveries: list[Any] = []
            failed: dict[int, BaseException] = {}
            for index, (topic, record) in enumerate(messages):
                try:
                    delivery = await producer.send(
                        topic, key=record.key, value=record.value, headers=list(record.headers)
                    )
                    deliveries.append(delivery)
                except Exception as exc:  # refused before sending (too large, say)
                    failed[index] = exc
                    deliveries.append(None)
            for index, delivery in enumerate(deliveries):
                if delivery is None:
                    continue
                try:
                    await delivery
                except Exception as exc:
                    failed[index] = exc
            if failed:
                raise RefusedRecords(failed)
            await producer.send_offsets_to_transaction(
                {
                    TopicPartition(topic, partition): offset
                    for (topic, partition), offset in offsets.items()
                },
                self.group_id,
            )
            await producer.commit_transaction()
        except BaseException:
            try:
                await producer.abort_transaction()
            except Exception:  # the producer may be fenced or gone; the batch is not acked
                log.exception("aborting the transaction failed")
            raise

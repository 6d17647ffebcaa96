"""Publishing a batch's results: what to retry, what to dead-letter, what to crash on.

Both publishing modes follow the same rules:

- a **transient** failure (broker unreachable, leader moving, request timed out, too few
  in-sync replicas) is retried with backoff for as long as it lasts; the batch waits, and
  nothing is dead-lettered for being slow;
- a **permanent refusal** of one record (too large, corrupt) replaces that record, once:
  an enriched event by a dead letter saying why, a dead letter by one without its payload;
- anything else (authorisation, a fenced producer, a bug) is an infrastructure fault and
  is raised, so the worker exits without committing and the batch is read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import errors as kafka_errors

from pipeline.enrichment import Received
from pipeline.errors import StageFailed
from pipeline.outputs import OutputRecord, dead_letter, dead_letter_record
from schemas import DeadLetter, EnrichedEvent, Stage

log = logging.getLogger(__name__)

# The broker refuses these for the record itself: sending it again cannot succeed.
REFUSALS: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.CorruptRecordException,
)
FIRST_RETRY_S = 0.5
LONGEST_RETRY_S = 30.0

# a record -> the broker's acknowledgement to await
Send = Callable[[OutputRecord], Awaitable[Awaitable[Any]]]
OnRetry = Callable[[BaseException], None]


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may go away by waiting: connectivity, leadership, timeouts."""
    if isinstance(exc, REFUSALS):
        return False
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(exc.retriable) or isinstance(exc, kafka_errors.KafkaTimeoutError)
    return isinstance(exc, (TimeoutError, ConnectionError))


def is_refusal(exc: BaseException) -> bool:
    return isinstance(exc, REFUSALS)


def replacement(
    received: Received, record: OutputRecord, exc: BaseException, *, max_bytes: int
) -> OutputRecord:
    """What to send instead of a record the broker refused for good.

    An event becomes a dead letter of stage ``publish`` (with the raw payload, as far as it
    fits); a dead letter is sent again without its payload (its size and sha256 stay).
    Raises ``exc`` when a dead letter without payload was refused already.
    """
    result = record.result
    cause = StageFailed(Stage.PUBLISH, exc)
    if isinstance(result, EnrichedEvent):
        letter = dead_letter(received, cause, article_id=result.id, max_bytes=max_bytes)
    elif result.payload_base64:
        letter = _without_payload(result, f"the broker refused the dead letter: {cause}")
    else:
        raise exc
    return dead_letter_record(record.key, letter)


def _without_payload(letter: DeadLetter, why: str) -> DeadLetter:
    return letter.model_copy(
        update={
            "payload_base64": "",
            "payload_truncated": True,
            "message": f"{letter.message[:1500]} ({why[:400]}; payload left out, "
            f"its {letter.payload_size} bytes have sha256 {letter.payload_sha256})",
        }
    )


async def backoff(delay: float) -> float:
    await asyncio.sleep(delay)
    return min(delay * 2, LONGEST_RETRY_S)


async def publish_each(
    batch: Sequence[Received],
    records: list[OutputRecord],
    send: Send,
    on_retry: OnRetry,
    *,
    max_bytes: int,
) -> list[OutputRecord]:
    """At-least-once: send every record and wait until the broker has acknowledged each.

    Returns the records as finally published (refused ones replaced). The sends go out
    together; a record whose send fails is then retried or replaced on its own.
    """
    pending: list[Awaitable[Any] | BaseException] = []
    for record in records:
        try:
            pending.append(await send(record))
        except Exception as exc:  # aiokafka refuses an oversize record before sending
            pending.append(exc)
    published = []
    for received, record, delivery in zip(batch, records, pending, strict=True):
        published.append(await _settle(received, record, delivery, send, on_retry, max_bytes))
    return published


async def _settle(
    received: Received,
    record: OutputRecord,
    delivery: Awaitable[Any] | BaseException,
    send: Send,
    on_retry: OnRetry,
    max_bytes: int,
) -> OutputRecord:
    delay = FIRST_RETRY_S
    while True:
        try:
            if isinstance(delivery, BaseException):
                raise delivery
            await delivery
            return record
        except Exception as exc:
            if is_refusal(exc):
                log.warning("the broker refused a record for good, replacing it: %r", exc)
                record = replacement(received, record, exc, max_bytes=max_bytes)
            elif is_transient(exc):
                on_retry(exc)
                log.warning("send failed (%r); retrying in %.1f s", exc, delay)
                delay = await backoff(delay)
            else:
                raise
        try:
            delivery = await send(record)
        except Exception as exc:
            delivery = exc


class RefusedRecords(Exception):
    """Some sends of a transaction failed; ``errors`` maps record index to exception."""

    def __init__(self, errors: dict[int, BaseException]) -> None:
        super().__init__(f"{len(errors)} records failed: {list(errors.values())[:3]!r}")
        self.errors = errors


async def publish_transactionally(
    batch: Sequence[Received],
    records: list[OutputRecord],
    commit: Callable[[list[OutputRecord]], Awaitable[None]],
    on_retry: OnRetry,
    *,
    max_bytes: int,
) -> list[OutputRecord]:
    """Exactly-once: ``commit`` sends the records and the offsets in one transaction.

    A transaction with a refused record is aborted and tried again with that record
    replaced; one that failed for a transient reason is tried again as it was.
    """
    delay = FIRST_RETRY_S
    while True:
        try:
            await commit(records)
            return records
        except RefusedRecords as failed:
            transient = False
            for index, exc in failed.errors.items():
                if is_refusal(exc):
                    log.warning("the broker refused record %d for good, replacing it", index)
                    records[index] = replacement(
                        batch[index], records[index], exc, max_bytes=max_bytes
                    )
                elif is_transient(exc):
                    transient = True
                else:
                    raise exc from failed
            if transient:
                on_retry(failed)
                delay = await backoff(delay)
        except Exception as exc:
            if not is_transient(exc):
                raise
            on_retry(exc)
            log.warning("transaction failed (%r); retrying in %.1f s", exc, delay)
            delay = await backoff(delay)


__all__ = [
    "RefusedRecords",
    "is_refusal",
    "is_transient",
    "publish_each",
    "publish_transactionally",
    "replacement",
]

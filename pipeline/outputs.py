"""Turns results into Kafka records that always fit the output topics' size limit.

A record the broker refuses for its size would otherwise stop the stream: the worker could
neither publish the result nor commit past it. So every record is shaped here before it is
sent. An enriched event that is too large becomes a dead letter. A dead letter carries the
raw payload whole when it fits, and otherwise a prefix of it with its full length and sha256
and ``payload_truncated`` set. Error messages and keys are bounded as well.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pipeline import __version__
from pipeline.errors import PipelineError, RecordTooLarge
from schemas import DeadLetter, EnrichedEvent, encode

if TYPE_CHECKING:
    from pipeline.enrichment import Received

# Room for what the broker counts on top of the value: the record's headers (a dead
# letter's are at most about 700 bytes), timestamps, varints and the batch header.
RECORD_OVERHEAD_BYTES = 2048
MAX_MESSAGE_CHARS = 2000  # of a dead letter's error message; pydantic's can quote megabytes
MAX_KEY_BYTES = 1024  # an output key longer than this is replaced by its hash


class Destination(StrEnum):
    ENRICHED = "enriched"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class OutputRecord:
    """One record to publish: where it goes, its key and value, and the result it encodes."""

    destination: Destination
    key: bytes | None
    value: bytes
    result: EnrichedEvent | DeadLetter
    headers: tuple[tuple[str, bytes], ...] = ()


def output_record(
    received: Received, result: EnrichedEvent | DeadLetter, *, max_bytes: int
) -> OutputRecord:
    """The record for ``result``, no larger than ``max_bytes`` (key and value together).

    An event over the limit is replaced by a dead letter at stage ``publish`` saying so.
    """
    key = output_key(received, result)
    if isinstance(result, EnrichedEvent):
        value = encode(result)
        if len(value) + len(key or b"") + RECORD_OVERHEAD_BYTES <= max_bytes:
            return OutputRecord(Destination.ENRICHED, key, value, result)
        too_large = RecordTooLarge(
            f"the enriched event is {len(value)} bytes, over the output limit of {max_bytes} "
            "(raise STANCEWIRE_MAX_MESSAGE_BYTES and the topics' max.message.bytes, or lower "
            "STANCEWIRE_MAX_PAYLOAD_BYTES)"
        )
        result = dead_letter(received, too_large, article_id=result.id, max_bytes=max_bytes)
    return dead_letter_record(key, result)


def dead_letter_record(key: bytes | None, letter: DeadLetter) -> OutputRecord:
    """A dead letter with its error context also as Kafka headers.

    Any Kafka tool then shows why a message failed without decoding the JSON, for example
    ``kcat -C -t articles.dlq -f '%h\\n'``.
    """
    source = f"{letter.topic}/{letter.partition}/{letter.offset}"
    headers = (
        ("stancewire-stage", letter.stage.value.encode()),
        ("stancewire-error-type", letter.error_type.encode()),
        ("stancewire-message", _bounded(letter.message, 200).encode()),
        ("stancewire-source", source.encode()),
        ("stancewire-payload-sha256", letter.payload_sha256.encode()),
    )
    return OutputRecord(Destination.DEAD_LETTER, key, encode(letter), letter, headers)


def output_key(received: Received, result: EnrichedEvent | DeadLetter) -> bytes | None:
    """The input message's key, or else the article id: results keep their article's key.

    A key too long to be a sensible key (a producer's mistake) is replaced by its sha256,
    so the record still fits and still lands on one partition per key.
    """
    if received.key is not None:
        key = received.key
    else:
        identity = result.id if isinstance(result, EnrichedEvent) else result.article_id
        key = identity.encode() if identity else b""
    if not key and received.key is None:
        return None
    if len(key) > MAX_KEY_BYTES:
        return b"sha256:" + hashlib.sha256(key).hexdigest().encode()
    return key


def dead_letter(
    received: Received,
    error: PipelineError,
    *,
    article_id: str | None = None,
    max_bytes: int | None = None,
) -> DeadLetter:
    """The dead-letter record for a message that failed ``error.stage``.

    With ``max_bytes``, the record with its key fits in that many bytes: a payload too large
    to carry whole is cut to a prefix, and the message says how much was kept.
    """
    payload = received.payload
    message = _bounded(str(error), MAX_MESSAGE_CHARS)
    key = received.key.decode("utf-8", "replace") if received.key is not None else None
    letter = DeadLetter(
        stage=error.stage,
        error_type=error.error_type,
        message=message,
        topic=received.topic,
        partition=received.partition,
        offset=received.offset,
        key=_bounded(key, MAX_KEY_BYTES) if key is not None else None,
        article_id=_bounded(article_id, 256) if article_id is not None else None,
        payload_base64=base64.b64encode(payload).decode("ascii"),
        payload_size=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        failed_at=datetime.now(UTC),
        pipeline_version=__version__,
    )
    if max_bytes is None:
        return letter
    # The largest prefix whose base64 fits beside the rest of the record.
    room = max_bytes - RECORD_OVERHEAD_BYTES - MAX_KEY_BYTES - 200  # 200: the note below
    room -= len(encode(letter.model_copy(update={"payload_base64": ""})))
    if 4 * ((len(payload) + 2) // 3) <= room:
        return letter
    kept = max(0, room // 4 * 3)
    note = (
        f" (payload of {len(payload)} bytes too large for the dead-letter topic: its first "
        f"{kept} bytes are kept, with the sha256 of all of it)"
    )
    return letter.model_copy(
        update={
            "payload_base64": base64.b64encode(payload[:kept]).decode("ascii"),
            "payload_truncated": True,
            "message": message + note,
        }
    )


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"

"""Every result becomes a record that fits the output limit, whatever the input's size."""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest

from pipeline.enrichment import Enricher, Received
from pipeline.errors import PayloadTooLarge
from pipeline.outputs import MAX_KEY_BYTES, Destination, dead_letter, output_record
from schemas import DeadLetter, EnrichedEvent

LIMIT = 64 * 1024


def test_a_payload_too_large_to_carry_keeps_a_prefix_its_size_and_hash() -> None:
    payload = b'{"title": "x", "body": "' + b"a" * 200_000 + b'"}'
    received = Received(payload=payload, key=b"big-1", topic="raw", partition=2, offset=9)
    letter = dead_letter(received, PayloadTooLarge("too big"), max_bytes=LIMIT)
    kept = base64.b64decode(letter.payload_base64)
    assert letter.payload_truncated
    assert 0 < len(kept) < len(payload) and payload.startswith(kept)
    assert letter.payload_size == len(payload)
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert f"first {len(kept)} bytes are kept" in letter.message
    record = output_record(received, letter, max_bytes=LIMIT)
    assert len(record.value) + len(record.key or b"") <= LIMIT
    # Nearly all of the room is used for the payload: the prefix is as long as it can be.
    assert len(record.value) > LIMIT * 0.9


def test_a_payload_that_fits_is_carried_whole() -> None:
    payload = b"not json at all" * 100
    letter = dead_letter(Received(payload=payload), PayloadTooLarge("x"), max_bytes=LIMIT)
    assert not letter.payload_truncated
    assert base64.b64decode(letter.payload_base64) == payload


def test_an_event_over_the_limit_becomes_a_dead_letter_of_stage_publish() -> None:
    body = "\n".join(f"Paragraph {n} of a very long report on port strikes." for n in range(3000))
    payload = orjson.dumps({"id": "long-1", "title": "Long report", "body": body})
    received = Received(payload=payload, topic="raw", partition=0, offset=1)
    (event,) = Enricher(max_payload_bytes=1 << 22).enrich_batch([received])
    assert isinstance(event, EnrichedEvent)
    record = output_record(received, event, max_bytes=LIMIT)
    assert record.destination is Destination.DEAD_LETTER
    assert isinstance(record.result, DeadLetter)
    assert record.result.stage.value == "publish"
    assert record.result.error_type == "RecordTooLarge"
    assert record.result.article_id == "long-1"
    assert "over the output limit" in record.result.message
    assert len(record.value) <= LIMIT
    assert record.key == b"long-1"  # no input key: the article id keys the result
    roomy = output_record(received, event, max_bytes=1 << 23)
    assert roomy.destination is Destination.ENRICHED and roomy.result is event


def test_huge_keys_and_messages_are_bounded() -> None:
    key = b"k" * 100_000
    received = Received(payload=b"x" * 10, key=key)
    letter = dead_letter(received, PayloadTooLarge("m" * 50_000), max_bytes=LIMIT)
    assert len(letter.message) < 3000 and "more characters" in letter.message
    record = output_record(received, letter, max_bytes=LIMIT)
    assert record.key is not None and len(record.key) <= MAX_KEY_BYTES
    assert record.key == b"sha256:" + hashlib.sha256(key).hexdigest().encode()
    assert len(record.value) + len(record.key) <= LIMIT


@pytest.mark.parametrize("size", [0, 1, 2, 3, 1000, 47_000, 48_000, 49_000, 1_000_000])
def test_dead_letters_fit_for_every_payload_size(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    received = Received(payload=payload, key=b"key")
    letter = dead_letter(received, PayloadTooLarge("too big"), max_bytes=LIMIT)
    record = output_record(received, letter, max_bytes=LIMIT)
    assert len(record.value) + len(record.key or b"") <= LIMIT
    assert letter.payload_truncated == (len(base64.b64decode(letter.payload_base64)) < size)


def test_dead_letters_carry_their_error_context_as_headers() -> None:
    received = Received(payload=b"\xff", key=b"k", topic="articles.raw", partition=3, offset=12)
    letter = dead_letter(received, PayloadTooLarge("payload is 1 byte, over " + "x" * 500))
    headers = dict(output_record(received, letter, max_bytes=LIMIT).headers)
    assert headers["stancewire-stage"] == b"decode"
    assert headers["stancewire-error-type"] == b"PayloadTooLarge"
    assert headers["stancewire-source"] == b"articles.raw/3/12"
    assert headers["stancewire-payload-sha256"] == hashlib.sha256(b"\xff").hexdigest().encode()
    assert headers["stancewire-message"].startswith(b"payload is 1 byte")
    assert len(headers["stancewire-message"]) < 260

"""The JSON Schema files and the Python records describe the same contract."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import jsonschema
import orjson
import pytest
from pydantic import ValidationError

from pipeline.enrichment import Enricher, Received, dead_letter
from pipeline.errors import InvalidJson
from schemas import RawArticle, encode
from schemas.export import RECORDS, SCHEMA_DIR, render, schema_path

VALID_ARTICLES = [
    {"title": "Budget vote delayed", "body": "The parliament postponed the vote."},
    {
        "id": "a-1",
        "title": "Port strike ends",
        "body": "Workers returned on Friday.",
        "url": "https://example.org/port",
        "source": "example.org",
        "published_at": "2026-11-01T10:00:00+02:00",
        "language": "en",
    },
    {"html": "<html><body><p>Text</p></body></html>", "url": "http://example.org/x"},
]
INVALID_ARTICLES = [
    {"title": "No story"},
    {"title": "Both", "body": "text", "html": "<p>text</p>"},
    {"title": "Extra field", "body": "text", "author": "someone"},
    {"title": 7, "body": "text"},
    {"title": "Bad url", "body": "text", "url": "ftp://example.org"},
    {"title": "Bad date", "body": "text", "published_at": "yesterday"},
    {"title": "Bad version", "body": "text", "schema_version": 2},
]


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = orjson.loads(schema_path(name).read_bytes())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_committed_schema_files_match_the_records(name: str) -> None:
    assert schema_path(name).read_bytes() == render(name), (
        f"{schema_path(name)} is stale: run 'python -m schemas.export'"
    )


@pytest.mark.parametrize("article", VALID_ARTICLES)
def test_valid_articles_pass_both_schema_and_record(article: dict[str, object]) -> None:
    validator("article").validate(article)
    record = RawArticle.model_validate(article)
    validator("article").validate(orjson.loads(encode(record)))


@pytest.mark.parametrize("article", INVALID_ARTICLES)
def test_invalid_articles_fail_both_schema_and_record(article: dict[str, object]) -> None:
    assert not validator("article").is_valid(article)
    with pytest.raises(ValidationError):
        RawArticle.model_validate(article)


def test_enriched_event_round_trips_through_schema_and_record() -> None:
    payload = orjson.dumps(VALID_ARTICLES[1])
    (event,) = Enricher(max_payload_bytes=1 << 20).enrich_batch([Received(payload=payload)])
    wire = orjson.loads(encode(event))
    validator("enriched").validate(wire)
    assert type(event).model_validate(wire) == event
    assert wire["published_at"] == "2026-11-01T10:00:00+02:00"
    assert wire["processing"]["received_at"].endswith("+00:00")


def test_dead_letter_round_trips_and_keeps_the_raw_bytes() -> None:
    raw = b"\xff\xfenot json"
    letter = dead_letter(
        Received(payload=raw, key=b"k1", topic="articles.raw", partition=2, offset=41),
        InvalidJson("payload is not valid JSON"),
    )
    wire = orjson.loads(encode(letter))
    validator("deadletter").validate(wire)
    assert type(letter).model_validate(wire) == letter
    assert base64.b64decode(wire["payload_base64"]) == raw
    assert (wire["stage"], wire["partition"], wire["offset"]) == ("decode", 2, 41)


def test_naive_published_at_is_read_as_utc() -> None:
    article = RawArticle(title="t", body="b", published_at=datetime(2026, 1, 2, 3, 4))
    assert article.published_at == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def _stance(with_views: bool) -> dict[str, object]:
    sentence = "Anna Berg called the port levy a mistake."
    stance: dict[str, object] = {
        "target": "port levy",
        "target_kind": "topic",
        "label": "against",
        "score": 0.71,
        "evidence": [
            {
                "text": sentence,
                "start": 0,
                "end": 41,
                "label": "against",
                "score": 0.71,
                "holder": "Anna Berg",
            }
        ],
    }
    if with_views:
        stance["views"] = [
            {"holder": "Anna Berg", "label": "against", "score": 0.71, "evidence": [0]}
        ]
    return stance


def test_version_2_stances_carry_holder_views_and_version_1_stays_documented() -> None:
    payload = orjson.dumps(VALID_ARTICLES[1])
    (event,) = Enricher(max_payload_bytes=1 << 20).enrich_batch([Received(payload=payload)])
    wire = orjson.loads(encode(event))
    assert wire["schema_version"] == 2
    wire["stances"] = [_stance(with_views=True)]
    validator("enriched").validate(wire)
    assert type(event).model_validate(wire).stances[0].views[0].holder == "Anna Berg"

    old = {**wire, "schema_version": 1, "stances": [_stance(with_views=False)]}
    assert not validator("enriched").is_valid(old)
    v1 = orjson.loads((SCHEMA_DIR / "enriched.v1.json").read_bytes())
    v1_validator = jsonschema.Draft202012Validator(v1, format_checker=jsonschema.FormatChecker())
    v1_validator.validate(old)
    assert not v1_validator.is_valid(wire)

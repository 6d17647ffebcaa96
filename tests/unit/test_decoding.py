"""Every kind of bad message is rejected with a specific, actionable error."""

from __future__ import annotations

import orjson
import pytest

from pipeline.decoding import article_id, decode_article
from pipeline.errors import (
    InvalidEncoding,
    InvalidJson,
    PayloadTooLarge,
    PipelineError,
    SchemaViolation,
)
from schemas import RawArticle, Stage

LIMIT = 4096


@pytest.mark.parametrize(
    ("payload", "error", "stage", "words"),
    [
        (b"x" * (LIMIT + 1), PayloadTooLarge, Stage.DECODE, "over the limit"),
        (b'{"title": "caf\xe9"}', InvalidEncoding, Stage.DECODE, "not valid UTF-8"),
        (b'{"title": "unterminated', InvalidJson, Stage.DECODE, "not valid JSON"),
        (b"[" * 2000 + b"]" * 2000, InvalidJson, Stage.DECODE, "not valid JSON"),
        (b'["a list"]', SchemaViolation, Stage.VALIDATE, "must be a JSON object"),
        (b'{"title": "t"}', SchemaViolation, Stage.VALIDATE, "needs a 'body'"),
        (b'{"title": ["t"], "body": "b"}', SchemaViolation, Stage.VALIDATE, "title"),
        (b'{"title": "t", "body": "b", "x": 1}', SchemaViolation, Stage.VALIDATE, "x: Extra"),
        (b'{"body": "text only"}', SchemaViolation, Stage.VALIDATE, "non-empty 'title'"),
        # Zero-width characters alone are no title: the first paragraph must not become one.
        (
            '{"title": "\u200b\u2060\ufeff \u200d", "body": "A paragraph."}'.encode(),
            SchemaViolation,
            Stage.VALIDATE,
            "non-empty 'title'",
        ),
    ],
)
def test_bad_payloads_raise_errors_naming_stage_and_problem(
    payload: bytes, error: type[PipelineError], stage: Stage, words: str
) -> None:
    with pytest.raises(error) as caught:
        decode_article(payload, max_bytes=LIMIT)
    assert caught.value.stage is stage
    assert words in str(caught.value)


def test_valid_payload_becomes_an_article() -> None:
    payload = orjson.dumps({"title": "Summit set", "body": "Leaders meet in June."})
    article = decode_article(payload, max_bytes=LIMIT)
    assert article.title == "Summit set"


def test_ids_prefer_given_id_then_url_then_content() -> None:
    given = RawArticle(id="x-1", title="t", body="b", url="https://a.example/1")
    by_url = RawArticle(title="t", body="b", url="https://a.example/1")
    by_content = RawArticle(title="t", body="b")
    assert article_id(given) == "x-1"
    assert article_id(by_url).startswith("url-")
    assert article_id(by_url) == article_id(RawArticle(title="other", body="c", url=by_url.url))
    assert article_id(by_content).startswith("sha-")
    assert article_id(by_content) != article_id(RawArticle(title="t", body="c"))


def test_schema_violation_keeps_the_claimed_id_for_tracing() -> None:
    with pytest.raises(SchemaViolation) as caught:
        decode_article(b'{"id": "story-9", "title": "No body"}', max_bytes=LIMIT)
    assert caught.value.article_id == "story-9"

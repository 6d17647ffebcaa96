"""Turns the bytes of a Kafka message into a validated RawArticle, or says why it cannot."""

from __future__ import annotations

import hashlib

import orjson
from pydantic import ValidationError

from pipeline.errors import InvalidEncoding, InvalidJson, PayloadTooLarge, SchemaViolation
from schemas import RawArticle


def decode_article(payload: bytes, *, max_bytes: int) -> RawArticle:
    """Parse and validate one message value.

    Raises a ``PipelineError`` subclass naming the first problem found, checked in the order
    size, UTF-8, JSON, schema, so that the cheapest check rejects hostile input first.
    """
    if len(payload) > max_bytes:
        raise PayloadTooLarge(
            f"payload is {len(payload)} bytes, over the limit of {max_bytes} "
            "(raise STANCEWIRE_MAX_PAYLOAD_BYTES to accept it)"
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(
            f"payload is not valid UTF-8 at byte {exc.start}: {exc.reason}"
        ) from exc
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"payload is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SchemaViolation(f"payload must be a JSON object, got {type(document).__name__}")
    try:
        return RawArticle.model_validate(document)
    except ValidationError as exc:
        error = SchemaViolation(_describe(exc))
        claimed = document.get("id")
        error.article_id = claimed if isinstance(claimed, str) and claimed else None
        raise error from exc


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "article"
        problems.append(f"{where}: {error['msg']}")
    return "invalid article: " + "; ".join(problems)


def article_id(article: RawArticle) -> str:
    """The article's stable id: its own ``id``, else a hash of its url, else of its content."""
    if article.id:
        return article.id
    if article.url:
        return "url-" + hashlib.sha256(article.url.encode()).hexdigest()[:24]
    content = (article.title or "") + "\n" + (article.body or article.html or "")
    return "sha-" + hashlib.sha256(content.encode()).hexdigest()[:24]

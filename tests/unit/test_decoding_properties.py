"""Property-based fuzzing of decoding and validation: any bytes give an article or a clear error.

Whatever arrives on the input topic, ``decode_article`` either returns a valid article or
raises one of the pipeline's own errors with a readable message, and the enricher turns
every such error into a dead letter that carries the raw payload.
"""

from __future__ import annotations

import base64
import hashlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.decoding import article_id, decode_article
from pipeline.enrichment import Enricher, Received
from pipeline.errors import PipelineError
from schemas import DeadLetter, EnrichedEvent, RawArticle

LIMIT = 64 * 1024

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
# Objects that use the article's own field names, so validation is reached and exercised.
FIELDS = ["id", "title", "body", "html", "url", "source", "published_at", "language", "author"]
article_like = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)


def dumps(document: object) -> bytes:
    # The standard library writes any integer, also those beyond 64 bits, which orjson
    # refuses to write: the decoder must handle both.
    return json.dumps(document).encode()


def check(payload: bytes) -> None:
    try:
        article = decode_article(payload, max_bytes=LIMIT)
    except PipelineError as error:
        assert len(str(error)) > 10, repr(error)
        return
    assert isinstance(article, RawArticle)
    assert article_id(article)


@given(st.binary(max_size=2048))
def test_any_bytes_decode_or_raise_a_pipeline_error(payload: bytes) -> None:
    check(payload)


@given(json_values)
def test_any_json_document_decodes_or_raises_a_pipeline_error(document: object) -> None:
    check(dumps(document))


@given(article_like)
def test_article_shaped_objects_validate_or_name_the_field(document: dict[str, object]) -> None:
    try:
        decode_article(dumps(document), max_bytes=LIMIT)
    except PipelineError as error:
        message = str(error)
        assert message.startswith(("invalid article", "payload")), message


@given(st.text(max_size=300), st.binary(max_size=64))
def test_mangled_json_text_never_escapes_as_another_exception(text: str, tail: bytes) -> None:
    check(dumps({"title": "T", "body": text})[:-1] + tail)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=512), article_like.map(dumps)))
def test_every_payload_comes_out_enriched_or_dead_lettered_with_its_bytes(payload: bytes) -> None:
    received = Received(payload=payload, key=b"k", topic="raw", partition=0, offset=7)
    (result,) = ENRICHER.enrich_batch([received])
    if isinstance(result, DeadLetter):
        assert base64.b64decode(result.payload_base64) == payload
        assert result.payload_sha256 == hashlib.sha256(payload).hexdigest()
        assert result.message and result.stage
        # The enricher turns every exception into a dead letter, so a bug would hide here as
        # one with the exception's own type: only the pipeline's named errors may appear.
        assert result.error_type in EXPECTED_ERRORS, (result.error_type, result.message)
    else:
        assert isinstance(result, EnrichedEvent) and result.text


ENRICHER = Enricher(max_payload_bytes=LIMIT)
EXPECTED_ERRORS = {
    "PayloadTooLarge",
    "InvalidEncoding",
    "InvalidJson",
    "SchemaViolation",
    "EmptyArticle",
}

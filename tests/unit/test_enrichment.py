"""A batch always yields one record per message, in order, whatever fails."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence

import orjson

from pipeline.cleaning import CleanArticle
from pipeline.enrichment import Enricher, Received, StageClock
from schemas import DeadLetter, EnrichedEvent, Entity, EntityType, Mention, Stage


def _payload(title: str, body: str = "A paragraph of story text.") -> bytes:
    return orjson.dumps({"id": title, "title": title, "body": body})


class WordTagger:
    """A test double tagging the word 'Oslo' and failing on articles that say 'poison'."""

    model_name = "word-tagger"
    languages = frozenset({"en"})
    last_batch_tokens = 0

    def tag(self, articles: Sequence[CleanArticle]) -> list[list[Entity]]:
        found = []
        for article in articles:
            if "poison" in article.text:
                raise RuntimeError("model blew up")
            start = article.text.find("Oslo")
            if start < 0:
                found.append([])
                continue
            mention = Mention(text="Oslo", start=start, end=start + 4, score=0.9)
            found.append(
                [
                    Entity(
                        name="Oslo", type=EntityType.LOC, count=1, salience=1.0, mentions=[mention]
                    )
                ]
            )
        return found


def test_mixed_batch_keeps_order_and_dead_letters_bad_messages() -> None:
    batch = [
        Received(payload=_payload("first")),
        Received(payload=b"not json", key=b"k", topic="articles.raw", partition=1, offset=7),
        Received(payload=_payload("third")),
        Received(payload=_payload("empty", "Advertisement\nShare this article")),
    ]
    results = Enricher(max_payload_bytes=1 << 20).enrich_batch(batch)
    assert [type(r).__name__ for r in results] == [
        "EnrichedEvent",
        "DeadLetter",
        "EnrichedEvent",
        "DeadLetter",
    ]
    bad_json, empty = results[1], results[3]
    assert isinstance(bad_json, DeadLetter) and isinstance(empty, DeadLetter)
    assert (bad_json.stage, bad_json.error_type, bad_json.offset) == (
        Stage.DECODE,
        "InvalidJson",
        7,
    )
    assert (empty.stage, empty.error_type, empty.article_id) == (
        Stage.CLEAN,
        "EmptyArticle",
        "empty",
    )


def test_stages_without_models_leave_fields_empty_and_say_what_ran() -> None:
    (event,) = Enricher(max_payload_bytes=1 << 20).enrich_batch([Received(payload=_payload("a"))])
    assert isinstance(event, EnrichedEvent)
    assert event.entities == [] and event.stances == []
    assert event.processing.stages == [Stage.DECODE, Stage.VALIDATE, Stage.CLEAN]
    assert event.processing.models == {}


def test_model_failure_is_isolated_to_the_poisonous_article() -> None:
    enricher = Enricher(max_payload_bytes=1 << 20, entities=WordTagger())
    results = enricher.enrich_batch(
        [
            Received(payload=_payload("one", "Talks were held in Oslo today.")),
            Received(payload=_payload("two", "This text has poison in it.")),
            Received(payload=_payload("three", "Nothing to see here.")),
        ]
    )
    first, poisoned, third = results
    assert isinstance(first, EnrichedEvent) and first.entities[0].name == "Oslo"
    assert Stage.ENTITIES in first.processing.stages
    assert first.processing.models == {"entities": "word-tagger"}
    assert isinstance(poisoned, DeadLetter)
    assert (poisoned.stage, poisoned.error_type) == (Stage.ENTITIES, "RuntimeError")
    assert "model blew up" in poisoned.message
    assert isinstance(third, EnrichedEvent) and third.entities == []


def test_articles_in_languages_a_model_does_not_cover_skip_it_with_a_note() -> None:
    from pipeline.cleaning.language import load_language_identifier

    enricher = Enricher(
        max_payload_bytes=1 << 20, languages=load_language_identifier(), entities=WordTagger()
    )
    german = "Die Verhandlungen in Oslo wurden am Montag ohne Ergebnis vertagt, sagte ein Sprecher."
    (event,) = enricher.enrich_batch([Received(payload=_payload("de", german))])
    assert isinstance(event, EnrichedEvent)
    assert event.language == "de" and event.entities == []
    assert event.processing.notes == [
        "entities: skipped, the model covers en and the article is in 'de'"
    ]


def test_models_read_whole_sentences_up_to_the_limit_and_a_note_says_so() -> None:
    body = " ".join(f"Sentence number {n} is about the harbour in Gdansk." for n in range(40))
    payload = orjson.dumps({"id": "long", "title": "Harbour news", "body": body})
    enricher = Enricher(max_payload_bytes=1 << 20, model_max_chars=300)
    (event,) = enricher.enrich_batch([Received(payload=payload)])
    assert isinstance(event, EnrichedEvent)
    (note,) = [n for n in event.processing.notes if n.startswith("models:")]
    read = int(note.split()[4])
    assert read <= 300 and event.text[:read].endswith("Gdansk.")
    assert len(event.text) > 2000  # the event keeps the whole text


def _hash_for(seconds: float, data: bytes) -> float:
    """Hash ``data`` over and over for ``seconds`` of this thread's CPU; returns the CPU spent."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        hashlib.sha256(data).digest()  # releases the GIL, as Kafka I/O and torch do
    return time.thread_time() - started


def test_a_stage_clock_counts_its_own_thread_and_leaves_out_the_others() -> None:
    # The worker's event loop keeps consuming and publishing on its own thread while the
    # models run; its CPU time must not be counted as the models'.
    data = b"x" * 1_000_000
    stop = threading.Event()
    other_cpu = [0.0]

    def busy() -> None:
        started = time.thread_time()
        while not stop.is_set():
            hashlib.sha256(data).digest()
            other_cpu[0] = time.thread_time() - started

    other = threading.Thread(target=busy)
    other.start()
    try:
        clock = StageClock()
        own = _hash_for(0.3, data)
        deadline = time.monotonic() + 10
        while other_cpu[0] < 0.3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stage = clock.seconds()
    finally:
        stop.set()
        other.join()
    assert other_cpu[0] >= 0.3  # the other thread did run meanwhile
    assert own * 0.9 <= stage <= own + 0.1, (stage, own, other_cpu[0])

"""A model failing on everything opens the breaker; one poisonous article does not."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from pipeline.breaker import ModelBreaker
from pipeline.cleaning import CleanArticle
from pipeline.enrichment import Enricher, Received
from schemas import DeadLetter, EnrichedEvent, Entity, Stage


class FlakyTagger:
    """Fails on articles that say 'poison', or on every article when ``broken``."""

    model_name = "flaky"
    languages = None
    last_batch_tokens = 0

    def __init__(self, broken: bool) -> None:
        self.broken = broken

    def tag(self, articles: Sequence[CleanArticle]) -> list[list[Entity]]:
        if self.broken or any("poison" in a.text for a in articles):
            raise RuntimeError("CUDA error: device-side assert triggered")
        return [[] for _ in articles]


def batch(words: Sequence[str]) -> list[Received]:
    return [
        Received(payload=orjson.dumps({"title": f"T{n}", "body": f"A story about {word}."}))
        for n, word in enumerate(words)
    ]


def test_a_broken_model_opens_the_breaker_after_the_set_number_of_articles() -> None:
    enricher = Enricher(
        max_payload_bytes=1 << 20, entities=FlakyTagger(broken=True), breaker=ModelBreaker(5)
    )
    first = enricher.enrich_batch(batch(["ports"] * 4))
    assert all(isinstance(r, DeadLetter) and r.stage is Stage.ENTITIES for r in first)
    assert not enricher.breaker.open  # at most four failures in a row here
    enricher.enrich_batch(batch(["ports"]))
    assert enricher.breaker.open
    assert enricher.breaker.stage is Stage.ENTITIES
    assert enricher.breaker.error_type == "RuntimeError"
    assert "entities model failed on 5 articles in a row" in (enricher.breaker.reason or "")
    assert "device-side assert" in (enricher.breaker.reason or "")


def test_poisonous_articles_among_good_ones_never_open_it() -> None:
    enricher = Enricher(
        max_payload_bytes=1 << 20, entities=FlakyTagger(broken=False), breaker=ModelBreaker(5)
    )
    for _ in range(10):
        results = enricher.enrich_batch(batch(["poison", "poison", "ports", "poison", "poison"]))
        kinds = [type(r) for r in results]
        assert kinds == [DeadLetter, DeadLetter, EnrichedEvent, DeadLetter, DeadLetter]
    assert not enricher.breaker.open  # at most four failures in a row here

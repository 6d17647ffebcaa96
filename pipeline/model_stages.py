"""Adapters that let the entity tagger and stance classifier run as stages of the Enricher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.cleaning import CleanArticle
from pipeline.entities import ArticleText, EntityTagger
from schemas import Entity, Stance

if TYPE_CHECKING:
    from pipeline.stance import StanceClassifier


class EntityStageAdapter:
    """The entity tagger seen as an Enricher stage: clean articles in, entities out."""

    def __init__(self, tagger: EntityTagger, *, languages: frozenset[str] | None) -> None:
        self.tagger = tagger
        self.model_name = tagger.model_name
        self.languages = languages
        self.last_batch_tokens = 0

    def tag(self, articles: Sequence[CleanArticle]) -> list[list[Entity]]:
        texts = [
            ArticleText(text=a.text, sentences=list(a.sentences), lead_end=a.lead_end)
            for a in articles
        ]
        before = self.tagger.tokens_seen
        results = self.tagger.tag_articles(texts)
        self.last_batch_tokens = self.tagger.tokens_seen - before
        return results


class StanceStageAdapter:
    """The stance classifier seen as an Enricher stage, with the watch-list of topics."""

    def __init__(
        self,
        classifier: StanceClassifier,
        *,
        topics: Sequence[str],
        top_k_entities: int,
        languages: frozenset[str] | None,
    ) -> None:
        self.classifier = classifier
        self.model_name = classifier.model_name
        self.topics = list(topics)
        self.top_k_entities = top_k_entities
        self.languages = languages
        self.last_batch_tokens = 0

    def classify(
        self, articles: Sequence[CleanArticle], entities: Sequence[Sequence[Entity]]
    ) -> list[list[Stance]]:
        from pipeline.stance import StanceInput

        inputs = [
            StanceInput(
                text=article.text,
                sentences=list(article.sentences),
                entities=list(found),
                topics=self.topics,
                top_k_entities=self.top_k_entities,
            )
            for article, found in zip(articles, entities, strict=True)
        ]
        # Only the project's cross-encoder counts its tokens; other scorers report none.
        before = getattr(self.classifier.scorer, "tokens_seen", 0)
        results = self.classifier.classify_articles(inputs)
        self.last_batch_tokens = getattr(self.classifier.scorer, "tokens_seen", 0) - before
        return results

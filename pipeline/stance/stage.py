"""The stance classifier seen as a stage of the Enricher, with the watch-list of topics."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pipeline.cleaning import CleanArticle
from pipeline.stance.classifier import StanceClassifier
from pipeline.stance.holders import DEFAULT_TARGET_TYPES, StanceInput
from schemas import Entity, EntityType, Stance


class StanceStageAdapter:
    """The stance classifier seen as an Enricher stage, with the watch-list of topics."""

    def __init__(
        self,
        classifier: StanceClassifier,
        *,
        topics: Sequence[str],
        top_k_entities: int,
        languages: frozenset[str] | None,
        target_types: frozenset[EntityType] = DEFAULT_TARGET_TYPES,
    ) -> None:
        self.classifier = classifier
        self.model_name = classifier.model_name
        self.topics = list(topics)
        self.top_k_entities = top_k_entities
        self.target_types = target_types
        self.languages = languages
        self.last_batch_tokens = 0

    @property
    def network(self) -> torch.nn.Module:
        """The torch module scoring the pairs (for its size in the start-up line)."""
        return self.classifier.scorer.network

    def classify(
        self, articles: Sequence[CleanArticle], entities: Sequence[Sequence[Entity]]
    ) -> list[list[Stance]]:
        inputs = [
            StanceInput(
                text=article.text,
                sentences=list(article.sentences),
                entities=list(found),
                topics=self.topics,
                top_k_entities=self.top_k_entities,
                target_types=self.target_types,
            )
            for article, found in zip(articles, entities, strict=True)
        ]
        # Only the project's cross-encoder counts its tokens; other scorers report none.
        before = getattr(self.classifier.scorer, "tokens_seen", 0)
        results = self.classifier.classify_articles(inputs)
        self.last_batch_tokens = getattr(self.classifier.scorer, "tokens_seen", 0) - before
        return results

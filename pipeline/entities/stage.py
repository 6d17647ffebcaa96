"""The entity tagger seen as a stage of the Enricher: clean articles in, entities out."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pipeline.cleaning import CleanArticle
from pipeline.entities.mentions import ArticleText
from pipeline.entities.tagger import EntityTagger
from schemas import Entity


class EntityStageAdapter:
    """The entity tagger seen as an Enricher stage: clean articles in, entities out."""

    def __init__(self, tagger: EntityTagger, *, languages: frozenset[str] | None) -> None:
        self.tagger = tagger
        self.model_name = tagger.model_name
        self.languages = languages
        self.last_batch_tokens = 0

    @property
    def network(self) -> torch.nn.Module:
        """The torch module doing the tagging (for its size in the start-up line)."""
        return self.tagger.network

    def tag(self, articles: Sequence[CleanArticle]) -> list[list[Entity]]:
        texts = [
            ArticleText(text=a.text, sentences=list(a.sentences), lead_end=a.lead_end)
            for a in articles
        ]
        before = self.tagger.tokens_seen
        results = self.tagger.tag_articles(texts)
        self.last_batch_tokens = self.tagger.tokens_seen - before
        return results

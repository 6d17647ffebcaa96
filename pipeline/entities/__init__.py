"""The entity stage: the tagger (inference), its network, and mentions grouped into entities."""

from pipeline.entities.mentions import ArticleText, split_words
from pipeline.entities.tagger import EntityTagger, load_entity_tagger, tagger_from_bundle

__all__ = ["ArticleText", "EntityTagger", "load_entity_tagger", "split_words", "tagger_from_bundle"]

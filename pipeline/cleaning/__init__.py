"""The cleaning stage: HTML extraction, the text line classifier, per-source memory."""

from pipeline.cleaning.article import CleanArticle, clean_article, clean_text, source_key
from pipeline.cleaning.lines import LineModel, load_line_model
from pipeline.cleaning.memory import LineMemory, candidate_lines, line_key
from pipeline.cleaning.rules import AD_PLACEHOLDERS, BOILERPLATE_PHRASES, boilerplate_reason
from pipeline.cleaning.text import normalize_text, split_sentences, split_text_sentences

__all__ = [
    "AD_PLACEHOLDERS",
    "BOILERPLATE_PHRASES",
    "CleanArticle",
    "LineMemory",
    "LineModel",
    "boilerplate_reason",
    "candidate_lines",
    "clean_article",
    "clean_text",
    "line_key",
    "load_line_model",
    "normalize_text",
    "source_key",
    "split_sentences",
    "split_text_sentences",
]

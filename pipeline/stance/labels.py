"""The stance labels every data set is mapped onto, and the content words of a text."""

from __future__ import annotations

import re

LABELS: tuple[str, ...] = ("favor", "against", "neutral", "unrelated")
FAVOR, AGAINST, NEUTRAL, UNRELATED = range(4)

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "their",
        "our",
        "your",
        "has",
        "have",
        "had",
        "not",
        "no",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "should",
        "do",
        "does",
        "did",
        "said",
        "says",
        "after",
        "before",
        "over",
        "into",
        "about",
        "than",
        "then",
        "there",
        "here",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
    ]
)


def content_words(text: str) -> set[str]:
    """Lower-cased words of ``text`` without stopwords, cut to 6 letters as a cheap stem."""
    return {word[:6] for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}

"""The stance labels every data set is mapped onto, and the content words of a text."""

from __future__ import annotations

import re
from collections.abc import Sequence

LABELS: tuple[str, ...] = ("favor", "against", "neutral", "unrelated")
FAVOR, AGAINST, NEUTRAL, UNRELATED = range(4)


def three_way(row: Sequence[float], marked: bool) -> list[float]:
    """Favor, against and neutral probabilities of one scored pair.

    An unmarked pair's "unrelated" (FNC-1's "this passage is about something else") takes
    no side, so it counts as neutral. A marked pair (``pipeline.stance.marking``) is about
    its bracketed target by construction, and the marked data sets have no unrelated class,
    so the model never learnt that answer for them (``--source-labels`` leaves it out of
    their loss): it is dropped and the other three renormalised. On NewsMTSC dev-rw this
    reads 0.786 macro-F1 where counting it as neutral reads 0.760.
    """
    favor, against, neutral, unrelated = (float(value) for value in row)
    if not marked:
        return [favor, against, neutral + unrelated]
    total = favor + against + neutral
    return [favor / total, against / total, neutral / total] if total > 0 else [0.0, 0.0, 1.0]


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

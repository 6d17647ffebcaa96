"""Which targets an article has and the sentences that are evidence on each: watch-list
topics found by their words, the most salient entities by their mentions."""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

from pipeline.stance.holders import StanceInput
from pipeline.stance.labels import content_words
from schemas import Entity, EntityType, TargetKind

# A place named only as where something happens ("talks in Oslo") is no evidence of a
# stance toward it.
_LOCATIVE = re.compile(
    r"\b(?:in|at|near|inside|outside|across|throughout|around|within|off)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Target:
    """A stance target: its name, kind, evidence sentences and, for an entity, the entity."""

    name: str
    kind: TargetKind
    sentences: tuple[int, ...]
    entity: Entity | None = None


_WORD_SPAN = re.compile(r"[A-Za-z0-9]+")
# What may stand between two words of one topic mention: "Russia-US summit", "NATO's".
_JOINER = re.compile(r"[\s\-\u2010-\u2013']+")


def topic_spans(text: str, topic: str) -> list[tuple[int, int]]:
    """Where ``topic`` is mentioned in ``text``: each run of the topic's content words
    (the same 6-letter stems as ``content_words``), joined into one span across hyphens,
    a possessive and the topic's own small words: "Finland's [NATO] accession", "the
    [Russia-US summit]", "[sanctions on Russia]"."""
    words = content_words(topic)
    small = set(_WORD_SPAN.findall(topic.lower())) | {"s"}
    spans: list[tuple[int, int]] = []
    for match in _WORD_SPAN.finditer(text):
        if not content_words(match.group()) & words:
            continue
        start, end = match.span()
        gap = text[spans[-1][1] : start] if spans else ""
        if spans and set(_JOINER.split(gap.lower())) - {""} <= small:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def select_targets(article: StanceInput) -> list[Target]:
    """Watch-list topics, then the top-k entities by salience, each with its evidence sentences."""
    starts = [start for start, _ in article.sentences]
    targets: list[Target] = []
    seen: set[str] = set()
    for topic in article.topics:
        if topic.lower() not in seen:
            seen.add(topic.lower())
            targets.append(Target(topic, TargetKind.TOPIC, _topic_sentences(article, topic)))
    candidates = [entity for entity in article.entities if entity.type in article.target_types]
    ranked = sorted(candidates, key=lambda entity: (-entity.salience, -entity.count))
    for entity in ranked[: max(0, article.top_k_entities)]:
        if entity.name.lower() in seen:
            continue
        seen.add(entity.name.lower())
        by_sentence: dict[int, list[bool]] = {}
        for mention in entity.mentions:
            if article.sentences and mention.start < article.sentences[-1][1]:
                sentence = _sentence_of(starts, mention.start)
                by_sentence.setdefault(sentence, []).append(
                    _is_place_adjunct(article, entity, mention.start, starts[sentence])
                )
        sentences = sorted(
            number
            for number, adjuncts in by_sentence.items()
            if not all(adjuncts) and not _is_heading(article, number)
        )
        targets.append(Target(entity.name, TargetKind.ENTITY, tuple(sentences), entity))
    return targets


def _is_place_adjunct(
    article: StanceInput, entity: Entity, start: int, sentence_start: int
) -> bool:
    """A place mentioned only as where something happens: "talks in Oslo", "at Rotterdam"."""
    if entity.type is not EntityType.LOC:
        return False
    return _LOCATIVE.search(article.text, max(sentence_start, start - 16), start) is not None


def _sentence_of(starts: list[int], offset: int) -> int:
    return max(0, bisect.bisect_right(starts, offset) - 1)


# Where a topic's head ends: "sanctions | on Russia", "military aid | to Ukraine".
_PREPOSITION = re.compile(r"\s(?:on|to|for|against|of|in|with|over|from|by|into)\s", re.IGNORECASE)


def _topic_sentences(article: StanceInput, topic: str) -> tuple[int, ...]:
    """Sentences sharing at least half of the topic's content words (at least one), one of
    them from its head: what follows a preposition names what the topic acts on, and a
    sentence about Russia alone says nothing of "sanctions on Russia" (a marked model would
    read the stance toward Russia, often the opposite one)."""
    words = content_words(topic)
    if not words:
        return ()
    head = content_words(_PREPOSITION.split(topic, maxsplit=1)[0]) or words
    needed = math.ceil(len(words) / 2)
    found = []
    for index, (start, end) in enumerate(article.sentences):
        shared = words & content_words(article.text[start:end])
        if len(shared) >= needed and shared & head and not _is_heading(article, index):
            found.append(index)
    return tuple(found)


def _is_heading(article: StanceInput, sentence: int) -> bool:
    """A section heading ("Enlargement and the Region"): a short line of capitalised words
    without a full stop, after the title; it states no view."""
    start, end = article.sentences[sentence]
    text = article.text[start:end].strip()
    words = text.split()
    return (
        sentence > 0
        and len(words) <= 8
        and not text.endswith((".", "!", "?", '"', "\u201d"))
        and all(word[0].isupper() for word in words if len(word) > 3 and word not in _LINKING)
    )


_LINKING = frozenset("with from over into after about amid under than that this before".split())

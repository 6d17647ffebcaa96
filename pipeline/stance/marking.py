"""Marks where a target (and a holder) sits in a passage, the way the stance model was trained.

The convention
--------------
The cross-encoder reads a pair ``(target, passage)``: ``StanceScorer.score_pairs(targets,
passages)`` returns probabilities over ``LABELS`` (favor, against, neutral, unrelated).

- **Topic targets** ("NATO enlargement", a claim, a headline): the passage is left as it is
  and paired with the topic text. This is how FNC-1, ARC, SemEval-2016, P-Stance, GWSD,
  Emergent and VAST were trained and are evaluated. In an article, a model trained on
  marked targets reads a topic's evidence sentence like an entity's: the topic's words
  bracketed where they stand ("Norway's [NATO] accession", ``classifier.topic_spans``),
  the holder in braces, paired with the topic text.
- **Entity targets** (a person, organisation or place in the passage): every mention of the
  target in the passage is wrapped in square brackets, ``[Sergey Lavrov]``, and the pair's
  first segment is the target's name (its mention text). The question is "what stance does
  this passage take toward the bracketed entity?". NewsMTSC was trained this way, on single
  sentences.
- **A holder's stance toward an entity target**: the target's mentions are bracketed as
  above and the holder's mentions are wrapped in curly braces, ``{Lavrov}``. The question
  becomes "what stance does the holder in braces take toward the target in brackets?". The
  directed-sentiment data was trained this way, in both directions (each sentence once with
  entity 1 as holder and once with entity 2).

Brackets and braces already in the text are turned into parentheses first, so the only
brackets and braces the model sees are markers. Spans are ``(start, end)`` character
offsets into ``text`` with ``end`` exclusive; overlapping or touching spans of one kind
are merged. A holder span may not overlap a target span: nobody holds a stance toward
themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

TARGET_OPEN, TARGET_CLOSE = "[", "]"
HOLDER_OPEN, HOLDER_CLOSE = "{", "}"
_NEUTRALISE = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")"})


class MarkingError(ValueError):
    """A span lies outside the text, is empty, or a holder overlaps the target."""


def mark_target(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each target span wrapped in ``[`` ``]`` (existing brackets neutralised)."""
    return mark_holder_and_target(text, (), spans)


def mark_holder_and_target(
    text: str, holder_spans: Sequence[tuple[int, int]], target_spans: Sequence[tuple[int, int]]
) -> str:
    """``text`` with target spans in ``[`` ``]`` and holder spans in ``{`` ``}``."""
    targets = _merged(text, target_spans)
    holders = _merged(text, holder_spans)
    for holder_start, holder_end in holders:
        for target_start, target_end in targets:
            if holder_start < target_end and target_start < holder_end:
                raise MarkingError(
                    f"holder span {holder_start}-{holder_end} overlaps target span "
                    f"{target_start}-{target_end}: a target holds no stance toward itself"
                )
    marks = [(start, end, TARGET_OPEN, TARGET_CLOSE) for start, end in targets]
    marks += [(start, end, HOLDER_OPEN, HOLDER_CLOSE) for start, end in holders]
    marks.sort()
    clean = text.translate(_NEUTRALISE)
    pieces: list[str] = []
    position = 0
    for start, end, opening, closing in marks:
        pieces += [clean[position:start], opening, clean[start:end], closing]
        position = end
    pieces.append(clean[position:])
    return "".join(pieces)


def _merged(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans sorted, checked against ``text`` and merged where they overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if not 0 <= start < end <= len(text):
            raise MarkingError(f"span {start}-{end} is empty or outside a text of {len(text)}")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged

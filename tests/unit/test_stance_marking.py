"""Marking a target and its holder in a passage, as the stance model reads them."""

from __future__ import annotations

import pytest

from pipeline.stance.marking import MarkingError, mark_holder_and_target, mark_target
from pipeline.stance.targets import topic_spans

SENTENCE = "Mayor Ilse Varga praised the harbour board [again] on Tuesday."


def test_target_mentions_are_bracketed_and_existing_brackets_neutralised() -> None:
    start = SENTENCE.index("harbour board")
    marked = mark_target(SENTENCE, [(start, start + len("harbour board"))])
    assert marked == "Mayor Ilse Varga praised the [harbour board] (again) on Tuesday."


def test_holder_in_braces_and_target_in_brackets() -> None:
    holder = (SENTENCE.index("Ilse"), SENTENCE.index(" praised"))
    start = SENTENCE.index("harbour")
    marked = mark_holder_and_target(SENTENCE, [holder], [(start, start + len("harbour board"))])
    assert marked.startswith("Mayor {Ilse Varga} praised the [harbour board] (again)")


def test_overlapping_spans_of_one_kind_merge() -> None:
    text = "The Varga family and Varga herself"
    marked = mark_target(text, [(4, 9), (4, 16), (21, 26)])
    assert marked == "The [Varga family] and [Varga] herself"


@pytest.mark.parametrize("span", [(5, 5), (-1, 3), (0, 999)])
def test_empty_or_outside_spans_are_refused(span: tuple[int, int]) -> None:
    with pytest.raises(MarkingError, match="empty or outside"):
        mark_target(SENTENCE, [span])


def test_a_holder_overlapping_its_target_is_refused() -> None:
    with pytest.raises(MarkingError, match="holds no stance toward itself"):
        mark_holder_and_target(SENTENCE, [(6, 16)], [(11, 16)])


@pytest.mark.parametrize(
    ("text", "topic", "marked"),
    [
        (
            "He called Norway's NATO accession a blunder.",
            "NATO enlargement",
            "He called Norway's [NATO] accession a blunder.",
        ),
        (
            "Hopes for a Russia-US summit faded; the summit may wait.",
            "Russia-US summit",
            "Hopes for a [Russia-US summit] faded; the [summit] may wait.",
        ),
        (
            "New sanctions on Russia, and Russia's reply to the sanctions.",
            "sanctions on Russia",
            "New [sanctions on Russia], and [Russia]'s reply to the [sanctions].",
        ),
        ("Talks resumed on Monday.", "NATO enlargement", "Talks resumed on Monday."),
    ],
)
def test_a_topic_is_marked_where_its_words_stand(text: str, topic: str, marked: str) -> None:
    assert mark_target(text, topic_spans(text, topic)) == marked

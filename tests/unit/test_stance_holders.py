"""Holders of news statements, marking at inference, self-stance and neutral plain mentions,
without a model: entities are given, and a recording scorer stands in for the network."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from pipeline.cleaning.text import split_text_sentences
from pipeline.stance.classifier import (
    SIDE_THRESHOLDS,
    StanceClassifier,
    decide_label,
)
from pipeline.stance.holders import (
    StanceInput,
    find_clause_holders,
    find_holder,
    find_holders,
    holder_at,
)
from pipeline.stance.targets import select_targets
from schemas import Entity, EntityType, Mention, StanceLabel, TargetKind
from training.holders_eval import evaluate, read_annotations, read_polnear


def entity(text: str, name: str, kind: EntityType, *surfaces: str) -> Entity:
    """An entity with every mention of each surface form in ``text``."""
    mentions = []
    for surface in surfaces or (name,):
        start = text.find(surface)
        while start >= 0:
            before = text[start - 1] if start else " "
            after = text[start + len(surface)] if start + len(surface) < len(text) else " "
            inside = any(m.start <= start < m.end for m in mentions)
            if not before.isalnum() and not after.isalnum() and not inside:
                mentions.append(
                    Mention(text=surface, start=start, end=start + len(surface), score=0.99)
                )
            start = text.find(surface, start + 1)
    assert mentions, f"{surfaces} not in the text"
    mentions.sort(key=lambda mention: mention.start)
    return Entity(name=name, type=kind, count=len(mentions), salience=0.5, mentions=mentions)


def article(
    text: str, entities: list[Entity], topics: Sequence[str] = (), top_k: int = 5
) -> StanceInput:
    return StanceInput(text, split_text_sentences(text), entities, list(topics), top_k)


def holders_of(text: str, entities: list[Entity]) -> list[tuple[str, str, str] | None]:
    """(holder, the words naming it, how it was found) per sentence."""
    found = find_holders(article(text, entities))
    return [
        None if h is None else (h.name, text[h.start : h.end] if h.start >= 0 else "", h.via)
        for h in found
    ]


HALVORSEN = "Tove Halvorsen"


def test_subject_of_a_reporting_verb_with_a_time_and_title_between() -> None:
    text = (
        "Defence Minister Tove Halvorsen on Wednesday warned the coalition against delay. "
        "Halvorsen also told reporters the budget was final."
    )
    people = [entity(text, HALVORSEN, EntityType.PER, HALVORSEN, "Halvorsen")]
    assert holders_of(text, people) == [
        (HALVORSEN, HALVORSEN, "subject"),
        (HALVORSEN, "Halvorsen", "subject"),
    ]


def test_inverted_speech_verb_and_trailing_attribution() -> None:
    text = (
        '"We will not be rushed," said Defence Minister Tove Halvorsen. '
        "The plan needs another year, Halvorsen said."
    )
    people = [entity(text, HALVORSEN, EntityType.PER, HALVORSEN, "Halvorsen")]
    assert holders_of(text, people) == [
        (HALVORSEN, HALVORSEN, "inverted"),
        (HALVORSEN, "Halvorsen", "subject"),
    ]


def test_according_to_a_source() -> None:
    text = "The frigate order will slip to 2029, according to the Naval Procurement Agency."
    agency = [entity(text, "Naval Procurement Agency", EntityType.ORG)]
    assert holders_of(text, agency) == [
        ("Naval Procurement Agency", "Naval Procurement Agency", "according")
    ]


def test_participle_clause_after_the_subject() -> None:
    text = (
        "Halvorsen also turned to the northern flank, calling the new radar sites "
        "a long overdue step."
    )
    people = [entity(text, HALVORSEN, EntityType.PER, "Halvorsen")]
    assert holders_of(text, people) == [(HALVORSEN, "Halvorsen", "participle")]


def test_a_description_resolves_to_the_person_introduced_with_those_words() -> None:
    text = (
        "Estonian Foreign Minister Kalle Rebane met his Latvian counterpart Ieva Ozola in Riga. "
        "The Estonian foreign minister repeated his call for more air defence. "
        "The minister also praised the joint exercise."
    )
    people = [
        entity(text, "Kalle Rebane", EntityType.PER),
        entity(text, "Ieva Ozola", EntityType.PER),
        entity(text, "Riga", EntityType.LOC),
    ]
    found = holders_of(text, people)
    assert found[1] == ("Kalle Rebane", "The Estonian foreign minister", "subject")
    assert found[2] is not None and found[2][0] == "Kalle Rebane"  # "minister" fits Rebane only


def test_a_pronoun_subject_is_the_most_recent_person_holding_a_view() -> None:
    text = (
        "Kalle Rebane said the talks had stalled. "
        "The delegations left Riga without a date. "
        "He warned that patience was running out. "
        "She rejected that account."
    )
    people = [entity(text, "Kalle Rebane", EntityType.PER), entity(text, "Riga", EntityType.LOC)]
    found = holders_of(text, people)
    assert found[2] == ("Kalle Rebane", "He", "subject")
    assert found[3] == ("Kalle Rebane", "She", "subject")  # no gender is guessed
    # a pronoun with no person before it has no holder
    assert holders_of("He warned that patience was running out.", []) == [None]


def test_a_quotation_over_two_sentences_is_held_by_whoever_closes_it() -> None:
    text = '"The offer is withdrawn. We have waited long enough," Rebane said.'
    people = [entity(text, "Kalle Rebane", EntityType.PER, "Rebane")]
    assert holders_of(text, people) == [
        ("Kalle Rebane", "", "subject"),
        ("Kalle Rebane", "Rebane", "subject"),
    ]


def test_objects_places_and_plain_mentions_hold_nothing() -> None:
    text = (
        "Critics accused Kalle Rebane of misleading parliament. "
        "Riga criticized the proposal. "
        "The summit, which Kalle Rebane attended, ended early."
    )
    found = holders_of(
        text, [entity(text, "Kalle Rebane", EntityType.PER), entity(text, "Riga", EntityType.LOC)]
    )
    assert found == [None, None, None]
    assert find_holder(article(text, []), 0, 10) is None


class RecordingScorer:
    """A scorer that records the pairs it is given and answers fixed probabilities."""

    name = "recording"

    def __init__(self, settings: dict[str, Any], row: Sequence[float]) -> None:
        self.config = settings
        self.row = torch.tensor(row)
        self.pairs: list[tuple[str, str]] = []

    @property
    def network(self) -> nn.Module:
        return nn.Identity()

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        self.pairs += list(zip(targets, passages, strict=True))
        return self.row.repeat(len(targets), 1)


WARNING = (
    "Tove Halvorsen met officials in Tallinn on Monday. "
    "Halvorsen warned Moscow against new flights over the Baltic. "
    "Moscow has not replied."
)


def _warning_article() -> StanceInput:
    return article(
        WARNING,
        [
            entity(WARNING, "Moscow", EntityType.LOC),
            entity(WARNING, HALVORSEN, EntityType.PER, HALVORSEN, "Halvorsen"),
            entity(WARNING, "Tallinn", EntityType.LOC),
        ],
        topics=["flights over the Baltic"],
    )


def test_a_marked_model_reads_entity_targets_marked_with_their_holder() -> None:
    scorer = RecordingScorer({"marked_targets": True}, [0.1, 0.7, 0.1, 0.1])
    [stances] = StanceClassifier(scorer, window=1).classify_articles([_warning_article()])
    pairs = set(scorer.pairs)
    # a topic is read the same way: its words bracketed where they stand, the holder in
    # braces, in its one sentence
    assert (
        "flights over the Baltic",
        "{Halvorsen} warned Moscow against new [flights over the Baltic].",
    ) in pairs
    assert ("Moscow", "{Halvorsen} warned [Moscow] against new flights over the Baltic.") in pairs
    assert ("Moscow", "[Moscow] has not replied.") in pairs
    # the holder is the target itself: no braces, and no holder in the evidence
    assert ("Halvorsen", "[Halvorsen] warned Moscow against new flights over the Baltic.") in pairs
    by_target = {stance.target: stance for stance in stances}
    assert [e.holder for e in by_target["Moscow"].evidence] == [HALVORSEN, None]
    assert all(e.holder is None for e in by_target[HALVORSEN].evidence)
    assert by_target["Moscow"].label is StanceLabel.AGAINST


def test_a_model_without_the_flag_reads_passages_as_before() -> None:
    scorer = RecordingScorer({}, [0.1, 0.7, 0.1, 0.1])
    StanceClassifier(scorer, window=0).classify_articles([_warning_article()])
    assert (
        "Moscow",
        "Halvorsen warned Moscow against new flights over the Baltic.",
    ) in scorer.pairs
    assert not any("[" in passage or "{" in passage for _, passage in scorer.pairs)


def test_a_place_named_only_as_where_something_happens_has_no_evidence() -> None:
    scorer = RecordingScorer({"marked_targets": True}, [0.8, 0.1, 0.05, 0.05])
    [stances] = StanceClassifier(scorer).classify_articles([_warning_article()])
    tallinn = {stance.target: stance for stance in stances}["Tallinn"]
    assert tallinn.label is StanceLabel.NEUTRAL and tallinn.evidence == []
    assert not any("[Tallinn]" in passage for _, passage in scorer.pairs)


def test_weak_evidence_for_a_side_reads_neutral() -> None:
    scorer = RecordingScorer({}, [0.42, 0.17, 0.31, 0.1])  # favor wins the argmax, weakly
    assert SIDE_THRESHOLDS[TargetKind.ENTITY] > 0.42
    [stances] = StanceClassifier(scorer).classify_articles([_warning_article()])
    moscow = {stance.target: stance for stance in stances}["Moscow"]
    assert moscow.label is StanceLabel.NEUTRAL
    assert {e.label for e in moscow.evidence} == {StanceLabel.NEUTRAL}
    assert decide_label([0.45, 0.1, 0.45], 0.4) == 0
    assert decide_label([0.45, 0.1, 0.45], 0.5) == 2
    assert decide_label([0.2, 0.1, 0.7], 0.0) == 2
    settings = {"side_threshold_entity": 0.4, "side_threshold_topic": 0.9}
    tuned = StanceClassifier(RecordingScorer(settings, [0.45, 0.1, 0.35, 0.1]))
    assert tuned.side_thresholds == {"entity": 0.4, "topic": 0.9}


class PassageScorer(RecordingScorer):
    """Answers ``row`` for passages containing ``phrase`` and ``other`` for the rest."""

    def __init__(self, phrase: str, row: Sequence[float], other: Sequence[float]) -> None:
        super().__init__({}, row)
        self.phrase, self.other = phrase, torch.tensor(other)

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        return torch.stack([self.row if self.phrase in p else self.other for p in passages])


LEVY = (
    "Anna Berg said the port levy was a mistake. "
    "The port levy takes effect in May. "
    "Berg also said the port levy would ruin trade."
)


def test_each_holder_has_one_view_and_plain_reporting_does_not_dilute_a_side() -> None:
    berg = entity(LEVY, "Anna Berg", EntityType.PER, "Anna Berg", "Berg")
    scorer = PassageScorer("takes effect", [0.05, 0.05, 0.85, 0.05], [0.05, 0.8, 0.1, 0.05])
    [[levy, _]] = StanceClassifier(scorer, window=0).classify_articles(
        [article(LEVY, [berg], topics=["port levy"])]
    )
    assert [e.holder for e in levy.evidence] == ["Anna Berg", None, "Anna Berg"]
    assert [(v.holder, v.label, v.evidence) for v in levy.views] == [
        ("Anna Berg", StanceLabel.AGAINST, [0, 2]),
        (None, StanceLabel.NEUTRAL, [1]),
    ]
    assert levy.views[0].score == pytest.approx(0.8)
    # the article's own neutral sentence does not cancel Berg's view
    assert (levy.label, levy.score) == (StanceLabel.AGAINST, pytest.approx(0.8))


def test_holders_on_opposite_sides_weigh_one_view_each() -> None:
    text = (
        "Anna Berg said the port levy was a mistake. Berg said the port levy would ruin trade. "
        "Berg said the port levy must go. Olav Dahl said the port levy was a wise step."
    )
    people = [
        entity(text, "Anna Berg", EntityType.PER, "Anna Berg", "Berg"),
        entity(text, "Olav Dahl", EntityType.PER),
    ]
    scorer = PassageScorer("wise step", [0.9, 0.05, 0.05, 0.0], [0.05, 0.6, 0.3, 0.05])
    [stances] = StanceClassifier(scorer, window=0).classify_articles(
        [article(text, people, topics=["port levy"])]
    )
    levy = stances[0]
    assert [(v.holder, v.label) for v in levy.views] == [
        ("Anna Berg", StanceLabel.AGAINST),
        ("Olav Dahl", StanceLabel.FAVOR),
    ]
    # three sentences of Berg's against one of Dahl's: by views, Dahl's stronger favor wins
    assert levy.label is StanceLabel.FAVOR


BRAT = (
    "T1\tSource 0 14\tTove Halvorsen\n"
    "T2\tCue 15 21\twarned\n"
    "T3\tContent 22 57\tthat the budget\nwould not stretch\n"
    "T4\tAttribution 15 21\twarned\n"
    "E1\tAttribution:T4 Source:T1 Cue:T2 Content:T3\n"
    "T5\tCue 70 79\tpredicted\n"
    "T6\tContent 80 90\tmore cuts\n"
    "T7\tAttribution-no-source 70 79\tpredicted\n"
    "E2\tAttribution-no-source:T7 Cue:T5 Content:T6\n"
)


def test_polnear_attributions_and_the_holder_score(tmp_path: Path) -> None:
    [first] = read_annotations(BRAT)  # the no-source attribution has no holder to find
    assert first.source == ((0, 14),) and first.cue == 15
    text = "Tove Halvorsen warned that the budget would not stretch. Others predicted more cuts."
    (tmp_path / "dev" / "text").mkdir(parents=True)
    (tmp_path / "dev" / "attributions").mkdir()
    (tmp_path / "dev" / "text" / "paper_2016_a.txt").write_text(text)
    (tmp_path / "dev" / "attributions" / "paper_2016_a_4b22.ann").write_text(BRAT)
    [read] = read_polnear(tmp_path / "dev")
    people = [entity(text, HALVORSEN, EntityType.PER)]
    result = evaluate([read], [people])
    assert (result["precision"], result["recall"], result["attributions"]) == (1.0, 1.0, 1)
    missed = evaluate([read], [[]])
    assert (missed["holders_found"], missed["recall"], missed["f1"]) == (0, 0.0, 0.0)


def test_a_folder_without_texts_is_a_clear_error(tmp_path: Path) -> None:
    from training.holders_eval import PolnearError

    with pytest.raises(PolnearError, match="no text"):
        read_polnear(tmp_path)


def test_nationality_adjectives_are_not_targets_unless_asked_for() -> None:
    text = (
        "Norwegian officials said Tove Halvorsen would meet the Danish delegation in Bergen. "
        "Halvorsen criticised the plan."
    )
    found = [
        entity(text, HALVORSEN, EntityType.PER, HALVORSEN, "Halvorsen"),
        entity(text, "Norwegian", EntityType.MISC),
        entity(text, "Danish", EntityType.MISC),
        entity(text, "Bergen", EntityType.LOC),
    ]
    default = [target.name for target in select_targets(article(text, found))]
    assert default == [HALVORSEN, "Bergen"]
    with_misc = StanceInput(
        text,
        split_text_sentences(text),
        found,
        [],
        5,
        target_types=frozenset(EntityType),
    )
    assert {target.name for target in select_targets(with_misc)} == {
        HALVORSEN,
        "Norwegian",
        "Danish",
        "Bergen",
    }


def test_a_topic_needs_a_word_of_its_head_in_a_sentence() -> None:
    text = (
        "Moscow expelled two diplomats from Russia's embassy on Monday. "
        "The finance ministers agreed on new sanctions on Russia."
    )
    scorer = RecordingScorer({"marked_targets": True}, [0.1, 0.7, 0.1, 0.1])
    [[sanctions, aid]] = StanceClassifier(scorer).classify_articles(
        [article(text, [], topics=["sanctions on Russia", "military aid to Ukraine"])]
    )
    # "Russia" alone follows the topic's preposition: the first sentence is no evidence
    assert [e.text for e in sanctions.evidence] == [
        "The finance ministers agreed on new sanctions on Russia."
    ]
    assert aid.evidence == [] and aid.label is StanceLabel.NEUTRAL


def test_a_marked_pair_is_read_without_the_unrelated_output() -> None:
    # favor, against, neutral, unrelated: the marked data sets have no unrelated class
    scorer = RecordingScorer({"marked_targets": True}, [0.1, 0.4, 0.25, 0.25])
    [stances] = StanceClassifier(scorer).classify_articles([_warning_article()])
    moscow = {stance.target: stance for stance in stances}["Moscow"]
    assert moscow.label is StanceLabel.AGAINST
    assert moscow.score == pytest.approx(0.4 / 0.75)
    # an unmarked pair's unrelated output counts as neutral: 0.5 beats 0.4
    [stances] = StanceClassifier(RecordingScorer({}, [0.1, 0.4, 0.25, 0.25])).classify_articles(
        [_warning_article()]
    )
    moscow = {stance.target: stance for stance in stances}["Moscow"]
    assert moscow.label is StanceLabel.NEUTRAL
    assert moscow.score == pytest.approx(0.5)


TWO_CLAUSES = (
    "Jonas Lind urged Moscow to end the flights, while Foreign Minister Eva Strand said the "
    "door to talks with Moscow stays open."
)


def test_a_later_clause_has_its_own_holder() -> None:
    lind = entity(TWO_CLAUSES, "Jonas Lind", EntityType.PER)
    strand = entity(TWO_CLAUSES, "Eva Strand", EntityType.PER)
    moscow = entity(TWO_CLAUSES, "Moscow", EntityType.LOC)
    story = article(TWO_CLAUSES, [lind, strand, moscow])
    [holder] = find_holders(story)
    [later] = find_clause_holders(story)
    assert holder is not None and holder.name == "Jonas Lind"
    assert [clause.name for clause in later] == ["Eva Strand"]
    first, second = (m.start for m in moscow.mentions)
    assert holder_at(holder, later, first) == holder
    assert holder_at(holder, later, second) == later[0]
    # a clause's own subject opens it: Strand is no object of Lind's view
    assert holder_at(holder, later, strand.mentions[0].start) == later[0]


def test_each_mention_is_held_by_its_clause() -> None:
    scorer = RecordingScorer({"marked_targets": True}, [0.1, 0.7, 0.1, 0.1])
    entities = [
        entity(TWO_CLAUSES, "Jonas Lind", EntityType.PER),
        entity(TWO_CLAUSES, "Eva Strand", EntityType.PER),
        entity(TWO_CLAUSES, "Moscow", EntityType.LOC),
    ]
    [stances] = StanceClassifier(scorer).classify_articles([article(TWO_CLAUSES, entities)])
    by_target = {stance.target: stance for stance in stances}
    # the sentence is Moscow's evidence once, read from its first mention, in Lind's clause
    assert [e.holder for e in by_target["Moscow"].evidence] == ["Jonas Lind"]
    assert [e.holder for e in by_target["Eva Strand"].evidence] == [None]

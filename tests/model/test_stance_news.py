"""Stance on news prose with the shipped model: who stands where on what, in sentences and
an article written for these tests in the style of wire copy."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipeline.cleaning.text import split_text_sentences
from pipeline.stance import StanceClassifier, load_stance_classifier
from pipeline.stance.holders import StanceInput
from schemas import Entity, EntityType, Mention, Stance, StanceLabel


def _entity(text: str, name: str, kind: EntityType, *surfaces: str) -> Entity:
    mentions: list[Mention] = []
    for surface in surfaces or (name,):
        start = text.find(surface)
        while start >= 0:
            if not any(m.start <= start < m.end for m in mentions):
                end = start + len(surface)
                mentions.append(Mention(text=surface, start=start, end=end, score=0.99))
            start = text.find(surface, start + 1)
    assert mentions, f"{surfaces or name} not in the text"
    mentions.sort(key=lambda mention: mention.start)
    return Entity(name=name, type=kind, count=len(mentions), salience=0.5, mentions=mentions)


def _classify(
    classifier: StanceClassifier, text: str, entities: list[Entity], topics: Sequence[str] = ()
) -> dict[str, Stance]:
    article = StanceInput(text, split_text_sentences(text), entities, list(topics), len(entities))
    [stances] = classifier.classify_articles([article])
    return {stance.target: stance for stance in stances}


@pytest.fixture(scope="module")
def classifier() -> StanceClassifier:
    return load_stance_classifier(max_evidence=4)


HOLDER, OTHER = "Ingrid Solberg", "Tamas Kerekes"

# (sentence, the object's surface form, the label the holder takes toward it)
VERDICTS = [
    (
        "Prime Minister Ingrid Solberg warned Tamas Kerekes that his blockade of the fund "
        "would cost his country dearly.",
        StanceLabel.AGAINST,
    ),
    (
        "Prime Minister Ingrid Solberg accused Tamas Kerekes of sabotaging the budget talks "
        "and lying to his partners.",
        StanceLabel.AGAINST,
    ),
    (
        "Prime Minister Ingrid Solberg sharply criticised Tamas Kerekes for his reckless "
        "handling of the border crisis.",
        StanceLabel.AGAINST,
    ),
    (
        "Prime Minister Ingrid Solberg praised Tamas Kerekes for his courage and called him "
        "a trusted friend of her country.",
        StanceLabel.FAVOR,
    ),
    (
        "Prime Minister Ingrid Solberg backed Tamas Kerekes in the leadership contest, "
        "saying he was the best man for the job.",
        StanceLabel.FAVOR,
    ),
    (
        "Prime Minister Ingrid Solberg warmly welcomed Tamas Kerekes to Oslo and thanked him "
        "for his generous support.",
        StanceLabel.FAVOR,
    ),
]


def _verdict(classifier: StanceClassifier, text: str) -> Stance:
    people = [_entity(text, HOLDER, EntityType.PER), _entity(text, OTHER, EntityType.PER)]
    stance = _classify(classifier, text, people)[OTHER]
    assert stance.evidence[0].holder == HOLDER
    return stance


@pytest.mark.parametrize("text", [t for t, label in VERDICTS if label is StanceLabel.AGAINST])
def test_warning_accusing_or_criticising_someone_is_against_them(
    classifier: StanceClassifier, text: str
) -> None:
    assert _verdict(classifier, text).label is StanceLabel.AGAINST


@pytest.mark.parametrize("text", [t for t, label in VERDICTS if label is StanceLabel.FAVOR])
def test_praising_backing_or_welcoming_someone_is_favor(
    classifier: StanceClassifier, text: str
) -> None:
    assert _verdict(classifier, text).label is StanceLabel.FAVOR


@pytest.mark.parametrize(("text", "_"), VERDICTS[:1] + VERDICTS[3:4], ids=["warned", "praised"])
def test_the_speaker_holds_no_stance_toward_itself(
    classifier: StanceClassifier, text: str, _: StanceLabel
) -> None:
    people = [_entity(text, HOLDER, EntityType.PER), _entity(text, OTHER, EntityType.PER)]
    stances = _classify(classifier, text, people)
    assert all(e.holder != HOLDER for e in stances[HOLDER].evidence)
    assert stances[OTHER].evidence[0].holder == HOLDER


def test_a_city_where_a_meeting_is_held_is_neutral(classifier: StanceClassifier) -> None:
    text = (
        "Energy ministers of the Baltic states met in Vilnius on Thursday to agree on a "
        "common plan for winter gas reserves. The talks in Vilnius lasted six hours."
    )
    stance = _classify(classifier, text, [_entity(text, "Vilnius", EntityType.LOC)])["Vilnius"]
    assert stance.label is StanceLabel.NEUTRAL
    assert stance.evidence == []  # a venue is no evidence of a stance toward it


def test_a_city_hosting_talks_as_a_subject_is_neutral(classifier: StanceClassifier) -> None:
    text = "Vilnius hosted the two delegations for six hours of talks on winter gas reserves."
    stance = _classify(classifier, text, [_entity(text, "Vilnius", EntityType.LOC)])["Vilnius"]
    assert stance.label is StanceLabel.NEUTRAL


# Seed-style article: title, standfirst, section headings and paragraphs, as a page
# cleaned by the pipeline reads.
ARTICLE = "\n".join(
    [
        "Kerekes says Norway's NATO entry was a blunder that isolates the north",
        "",
        "Hungarian Foreign Minister Tamas Kerekes has said that Norway's accession to NATO was "
        "a strategic mistake. He argued that the alliance had moved too far east.",
        "Hungarian Foreign Minister Tamas Kerekes told a news conference in Vienna on Friday "
        "that the expansion of the alliance had made the region less safe. According to "
        "Kerekes, the talks with Brussels would continue.",
        "Enlargement and the Region",
        "The Hungarian foreign minister repeated his view that bringing new members into NATO "
        "had been a grave error, insisting that further NATO enlargement would only deepen the "
        "rift with Moscow. Kerekes also spoke about energy prices, characterizing Norway's "
        'NATO accession as "a blunder" that damages trust in the region.',
        "Talks Ahead",
        "Officials met in Vienna for a second round of talks. He said the next round would "
        "take place in the spring.",
    ]
)


@pytest.fixture(scope="module")
def article_stances(classifier: StanceClassifier) -> dict[str, Stance]:
    entities = [
        _entity(ARTICLE, "Tamas Kerekes", EntityType.PER, "Tamas Kerekes", "Kerekes"),
        _entity(ARTICLE, "NATO", EntityType.ORG),
        _entity(ARTICLE, "Norway", EntityType.LOC),
        _entity(ARTICLE, "Vienna", EntityType.LOC),
    ]
    return _classify(classifier, ARTICLE, entities, ["NATO enlargement"])


def test_the_article_attributes_every_form_to_the_minister(
    article_stances: dict[str, Stance],
) -> None:
    evidence = article_stances["NATO enlargement"].evidence
    assert evidence, "the topic finds its sentences"
    # the title, "... has said", "The Hungarian foreign minister repeated ...", "Kerekes also
    # spoke ..., characterizing ..."; the heading "Enlargement and the Region" is no evidence
    assert [e.holder for e in evidence] == ["Tamas Kerekes"] * 4
    assert "characterizing" in evidence[-1].text
    views = article_stances["NATO enlargement"].views
    assert [(view.holder, view.evidence) for view in views] == [("Tamas Kerekes", [0, 1, 2, 3])]
    assert all(e.holder is None for e in article_stances["Tamas Kerekes"].evidence)
    assert {view.holder for view in article_stances["Tamas Kerekes"].views} == {None}
    assert article_stances["Vienna"].label is StanceLabel.NEUTRAL


def test_the_topic_is_against_with_the_minister_holding_it(
    article_stances: dict[str, Stance],
) -> None:
    stance = article_stances["NATO enlargement"]
    assert stance.label is StanceLabel.AGAINST
    against = [e for e in stance.evidence if e.label is StanceLabel.AGAINST]
    assert against and {e.holder for e in against} == {"Tamas Kerekes"}
    assert [(view.holder, view.label) for view in stance.views] == [
        ("Tamas Kerekes", StanceLabel.AGAINST)
    ]

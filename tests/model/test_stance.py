"""The shipped stance model on diplomacy-news sentences written for these tests."""

from __future__ import annotations

import pytest

from pipeline.stance import (
    SHIPPED_MODEL_DIR,
    StanceClassifier,
    StanceInput,
    StanceModelError,
    find_holder,
    load_stance_classifier,
)
from pipeline.stance_data import split_sentences
from schemas import Entity, EntityType, Mention, Stance, StanceLabel, TargetKind


def _entity(text: str, name: str, kind: EntityType, surface: str, salience: float) -> Entity:
    """An entity with every mention of ``surface`` in ``text``, as the NER stage reports it."""
    mentions = []
    start = text.find(surface)
    while start >= 0:
        mentions.append(Mention(text=surface, start=start, end=start + len(surface), score=0.99))
        start = text.find(surface, start + 1)
    assert mentions, f"{surface!r} is not in the text"
    return Entity(name=name, type=kind, count=len(mentions), salience=salience, mentions=mentions)


def _article(text: str, entities: list[Entity], topics: list[str], top_k: int = 3) -> StanceInput:
    return StanceInput(
        text=text,
        sentences=split_sentences(text),
        entities=entities,
        topics=topics,
        top_k_entities=top_k,
    )


def _by_target(stances: list[Stance]) -> dict[str, Stance]:
    return {stance.target: stance for stance in stances}


@pytest.fixture(scope="module")
def classifier() -> StanceClassifier:
    return load_stance_classifier(window=0)


ACCESSION = (
    "Foreign Minister Pavel Orlik called Sweden's NATO accession a dangerous mistake. "
    "The remarks came on the sidelines of a regional forum in Vienna."
)


def test_minister_calling_accession_a_mistake_is_against_with_holder(
    classifier: StanceClassifier,
) -> None:
    orlik = _entity(ACCESSION, "Pavel Orlik", EntityType.PER, "Pavel Orlik", 0.9)
    [stances] = classifier.classify_articles([_article(ACCESSION, [orlik], ["NATO accession"])])
    stance = _by_target(stances)["NATO accession"]
    assert stance.target_kind is TargetKind.TOPIC
    assert stance.label is StanceLabel.AGAINST
    assert stance.score > 0.5
    [evidence] = stance.evidence
    assert evidence.text.startswith("Foreign Minister Pavel Orlik called")
    assert ACCESSION[evidence.start : evidence.end] == evidence.text
    assert evidence.holder == "Pavel Orlik"


def test_praise_for_an_organisation_is_favor(classifier: StanceClassifier) -> None:
    text = (
        "Chancellor Mira Halden praised the European Union, saying the bloc's support "
        "has been generous, vital and deeply appreciated by her government."
    )
    halden = _entity(text, "Mira Halden", EntityType.PER, "Mira Halden", 0.6)
    union = _entity(text, "European Union", EntityType.ORG, "European Union", 0.9)
    [stances] = classifier.classify_articles([_article(text, [union, halden], [])])
    stance = _by_target(stances)["European Union"]
    assert stance.target_kind is TargetKind.ENTITY
    assert stance.label is StanceLabel.FAVOR
    assert stance.evidence[0].holder == "Mira Halden"


def test_inverted_quote_attribution_and_against_a_policy(classifier: StanceClassifier) -> None:
    text = (
        '"These sanctions are a disaster that will ruin our farmers and must be scrapped," '
        "said Trade Minister Ivo Petrak."
    )
    petrak = _entity(text, "Ivo Petrak", EntityType.PER, "Ivo Petrak", 0.8)
    [stances] = classifier.classify_articles([_article(text, [petrak], ["sanctions"])])
    stance = _by_target(stances)["sanctions"]
    assert stance.label is StanceLabel.AGAINST
    assert stance.evidence[0].holder == "Ivo Petrak"


def test_scheduling_news_is_neutral(classifier: StanceClassifier) -> None:
    text = (
        "The foreign ministers of the Nordic Council will meet in Reykjavik on 14 March. "
        "The agenda for the meeting has not yet been published."
    )
    council = _entity(text, "Nordic Council", EntityType.ORG, "Nordic Council", 0.8)
    [stances] = classifier.classify_articles([_article(text, [council], [])])
    stance = _by_target(stances)["Nordic Council"]
    assert stance.label is StanceLabel.NEUTRAL
    assert stance.evidence[0].holder is None


def test_target_without_evidence_is_neutral_with_no_guess(classifier: StanceClassifier) -> None:
    [stances] = classifier.classify_articles([_article(ACCESSION, [], ["Arctic fishing quotas"])])
    assert stances == [
        Stance(
            target="Arctic fishing quotas",
            target_kind=TargetKind.TOPIC,
            label=StanceLabel.NEUTRAL,
            score=0.0,
            evidence=[],
        )
    ]


def test_a_batch_keeps_articles_and_targets_in_order_and_caps_entities(
    classifier: StanceClassifier,
) -> None:
    text = "Ana Ruiz met Tom Berg. Lena Falk met Ana Ruiz later."
    entities = [
        _entity(text, "Ana Ruiz", EntityType.PER, "Ana Ruiz", 0.9),
        _entity(text, "Tom Berg", EntityType.PER, "Tom Berg", 0.5),
        _entity(text, "Lena Falk", EntityType.PER, "Lena Falk", 0.7),
    ]
    first = _article(text, entities, ["trade talks"], top_k=2)
    results = classifier.classify_articles([first, _article(ACCESSION, [], ["NATO accession"])])
    assert [[s.target for s in stances] for stances in results] == [
        ["trade talks", "Ana Ruiz", "Lena Falk"],
        ["NATO accession"],
    ]
    assert [e.start for e in results[0][1].evidence] == [0, 23]


def test_probabilities_come_calibrated_from_the_shipped_settings(
    classifier: StanceClassifier,
) -> None:
    temperature = float(getattr(classifier.scorer, "temperature", 0.0))
    assert 0.3 < temperature < 5.0
    assert classifier.model_name.startswith("stancewire-stance")
    probabilities = classifier.scorer.score_pairs(["NATO accession"], [ACCESSION])
    assert probabilities.shape == (1, 4)
    assert float(probabilities.sum()) == pytest.approx(1.0, abs=1e-5)


def test_holder_needs_a_reporting_verb_next_to_a_person_or_organisation() -> None:
    text = (
        "Pavel Orlik on Monday warned that the talks could collapse. "
        "The talks, which Pavel Orlik attended, collapsed. "
        "Vienna criticized the plan."
    )
    orlik = _entity(text, "Pavel Orlik", EntityType.PER, "Pavel Orlik", 0.9)
    vienna = _entity(text, "Vienna", EntityType.LOC, "Vienna", 0.4)
    article = _article(text, [orlik, vienna], [])
    spans = article.sentences
    assert find_holder(article, *spans[0]) == "Pavel Orlik"
    assert find_holder(article, *spans[1]) is None
    assert find_holder(article, *spans[2]) is None  # a place is not a holder


def test_missing_model_directory_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(StanceModelError, match=r"no stance\.json"):
        load_stance_classifier(str(tmp_path))
    assert (SHIPPED_MODEL_DIR / "stance.json").exists()

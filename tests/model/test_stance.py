"""The shipped stance model on diplomacy-news sentences written for these tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from pipeline.cleaning.text import split_text_sentences
from pipeline.stance import (
    SHIPPED_MODEL_DIR,
    CrossEncoderScorer,
    StanceClassifier,
    StanceInput,
    StanceModelError,
    find_holder,
    load_backbone,
    load_stance_classifier,
)
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
        sentences=split_text_sentences(text),
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


def test_praise_for_an_organisation_is_favor_with_holder(classifier: StanceClassifier) -> None:
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
    assert stance.score > 0.6
    [evidence] = stance.evidence
    assert text[evidence.start : evidence.end] == evidence.text
    assert evidence.holder == "Mira Halden"


def test_disparaging_an_organisation_names_the_holder(classifier: StanceClassifier) -> None:
    text = (
        "The European Union is a corrupt failure that has betrayed its members, "
        "Chancellor Mira Halden said."
    )
    halden = _entity(text, "Mira Halden", EntityType.PER, "Mira Halden", 0.6)
    union = _entity(text, "European Union", EntityType.ORG, "European Union", 0.9)
    [stances] = classifier.classify_articles([_article(text, [union, halden], [])])
    stance = _by_target(stances)["European Union"]
    assert stance.label is not StanceLabel.FAVOR  # against is right: see the known failures
    assert stance.evidence[0].holder == "Mira Halden"


def test_accusing_a_minister_is_against_him_and_he_is_not_the_holder(
    classifier: StanceClassifier,
) -> None:
    text = "Critics accused Pavel Orlik of lying to parliament and demanded his resignation."
    orlik = _entity(text, "Pavel Orlik", EntityType.PER, "Pavel Orlik", 0.9)
    [stances] = classifier.classify_articles([_article(text, [orlik], [])])
    assert stances[0].label is StanceLabel.AGAINST
    assert stances[0].evidence[0].holder is None


def test_an_unconfirmed_report_about_a_topic_is_neutral(classifier: StanceClassifier) -> None:
    text = "Reports say the trade talks may resume next week, but neither side has confirmed it."
    [stances] = classifier.classify_articles([_article(text, [], ["trade talks"])])
    assert stances[0].label is StanceLabel.NEUTRAL
    assert stances[0].score > 0.6
    assert len(stances[0].evidence) == 1


@pytest.mark.parametrize(
    "text",
    [ACCESSION, "Foreign Minister Pavel Orlik strongly opposes Sweden's NATO accession."],
)
def test_opposition_in_reporting_voice_is_against(classifier: StanceClassifier, text: str) -> None:
    [stances] = classifier.classify_articles([_article(text, [], ["NATO accession"])])
    assert stances[0].label is StanceLabel.AGAINST


# Once known weaknesses of the tweet-trained model, read right since the news model:
# scheduling news that names a target read like an FNC body that "agrees" with a headline,
# and an insult in a quote as neutral reporting.
@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        (
            "The foreign ministers of the Nordic Council will meet in Reykjavik on 14 March.",
            "Nordic Council",
            StanceLabel.NEUTRAL,
        ),
        (
            "The European Union is a corrupt failure that has betrayed its members, "
            "Chancellor Mira Halden said.",
            "European Union",
            StanceLabel.AGAINST,
        ),
    ],
)
def test_scheduling_is_neutral_and_an_insult_in_a_quote_against(
    classifier: StanceClassifier, text: str, target: str, expected: StanceLabel
) -> None:
    [stances] = classifier.classify_articles([_article(text, [], [target])])
    assert stances[0].label is expected


def test_target_without_evidence_is_neutral_with_no_guess(classifier: StanceClassifier) -> None:
    [stances] = classifier.classify_articles([_article(ACCESSION, [], ["Arctic fishing quotas"])])
    assert stances == [
        Stance(
            target="Arctic fishing quotas",
            target_kind=TargetKind.TOPIC,
            label=StanceLabel.NEUTRAL,
            score=0.0,
            evidence=[],
            views=[],
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
    scorer = classifier.scorer
    assert isinstance(scorer, CrossEncoderScorer)
    fitted = json.loads((SHIPPED_MODEL_DIR / "stance.json").read_text())["temperature"]
    # The temperature fitted on dev is the one applied, and it is not a no-op.
    assert scorer.temperature == pytest.approx(fitted) and abs(fitted - 1.0) > 0.05
    assert classifier.model_name.startswith("stancewire-stance")
    targets, passages = ["NATO accession", "Sweden"], [ACCESSION, ACCESSION]
    probabilities = scorer.score_pairs(targets, passages)
    expected = torch.softmax(scorer.logits(targets, passages) / fitted, dim=-1)
    assert torch.allclose(probabilities, expected, atol=1e-5)
    uncalibrated = torch.softmax(scorer.logits(targets, passages), dim=-1)
    assert not torch.allclose(probabilities, uncalibrated, atol=1e-3)


def test_pairs_batched_by_length_get_the_logits_they_get_alone() -> None:
    scorer = load_stance_classifier(batch_size=3).scorer
    assert isinstance(scorer, CrossEncoderScorer)
    targets = ["NATO accession", "Pavel Orlik", "Vienna", "Sweden", "the forum"] * 2
    passages = [ACCESSION[: 40 + 23 * index] for index in range(len(targets))][::-1]
    batched = scorer.logits(targets, passages)
    alone = torch.cat([scorer.logits([t], [p]) for t, p in zip(targets, passages, strict=True)])
    assert torch.allclose(batched, alone, atol=1e-4)
    assert scorer.logits([], []).shape == (0, 4)


def test_a_model_trained_on_split_hashtags_reads_them_split(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_MODEL_DIR, tmp_path / "model")
    config = json.loads((tmp_path / "model" / "stance.json").read_text())
    (tmp_path / "model" / "stance.json").write_text(json.dumps({**config, "split_hashtags": True}))
    plain = CrossEncoderScorer(SHIPPED_MODEL_DIR, "cpu", 8)
    splitting = CrossEncoderScorer(tmp_path / "model", "cpu", 8)
    tweet = "Out canvassing all day #NeverForgetTheVeterans"
    assert torch.allclose(
        splitting.logits(["veterans"], [tweet]),
        plain.logits(["veterans"], ["Out canvassing all day #Never Forget The Veterans"]),
    )
    assert not torch.allclose(
        splitting.logits(["veterans"], [tweet]), plain.logits(["veterans"], [tweet])
    )


def test_holder_needs_a_reporting_verb_next_to_a_person_or_organisation() -> None:
    text = (
        "Pavel Orlik on Monday warned that the talks could collapse. "
        "The talks, which Pavel Orlik attended, collapsed. "
        "Vienna criticized the plan. "
        '"The plan is dead," said Deputy Foreign Minister Pavel Orlik. '
        "The Arctic Council, a forum of eight states, rejected the proposal. "
        "The deal is doomed, according to Pavel Orlik. "
        "Foreign Minister Pavel Orlik called Sweden's NATO accession a mistake. "
        "Critics accused Pavel Orlik of lying."
    )
    orlik = _entity(text, "Pavel Orlik", EntityType.PER, "Pavel Orlik", 0.9)
    vienna = _entity(text, "Vienna", EntityType.LOC, "Vienna", 0.4)
    council = _entity(text, "Arctic Council", EntityType.ORG, "Arctic Council", 0.4)
    article = _article(text, [orlik, vienna, council], [])
    holders = [find_holder(article, start, end) for start, end in article.sentences]
    # a place is not a holder, and a mention without a reporting verb is not one either
    assert holders == [
        "Pavel Orlik",
        None,
        None,
        "Pavel Orlik",
        "Arctic Council",
        "Pavel Orlik",
        "Pavel Orlik",
        None,  # the accused is the object of 'accused', not the one who holds the view
    ]


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StanceModelError, match=r"no stance\.json"):
        load_stance_classifier(str(tmp_path))
    assert (SHIPPED_MODEL_DIR / "stance.json").exists()


def test_nli_backend_reads_any_sequence_classifier_with_an_entailment_label(
    tmp_path: Path,
) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    _, tokenizer = load_backbone()
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        id2label={0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"},
        label2id={"ENTAILMENT": 0, "NEUTRAL": 1, "CONTRADICTION": 2},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(tmp_path)  # type: ignore[no-untyped-call]
    tokenizer.save_pretrained(tmp_path)
    nli = load_stance_classifier(str(tmp_path), backend="nli")
    assert nli.model_name == str(tmp_path)
    [stances] = nli.classify_articles([_article(ACCESSION, [], ["NATO accession"])])
    assert stances[0].evidence and 0.0 < stances[0].score <= 1.0
    probabilities = nli.scorer.score_pairs(["NATO"], [ACCESSION])
    assert float(probabilities.sum()) == pytest.approx(1.0, abs=1e-5)
    assert float(probabilities[0, 3]) == 0.0  # zero-shot NLI has no 'unrelated' answer


def test_the_shipped_models_fit_the_40_mb_budget() -> None:
    models = Path(__file__).resolve().parents[2] / "pipeline" / "models"
    sizes = {path.relative_to(models): path.stat().st_size for path in models.rglob("*.*")}
    assert {str(p.parent) for p in sizes} == {"cleaning", "ner", "stance"}
    assert sum(sizes.values()) <= 40_000_000

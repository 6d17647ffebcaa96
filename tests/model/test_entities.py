"""The shipped NER model on diplomacy news written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline.entities import ArticleText, EntityTagger, load_entity_tagger
from schemas import Entity, EntityType
from tests.tiny_bert import tiny_bert_config

TITLE = "Lavrov and Blinken meet in Geneva as NATO weighs Baltic deployment"
STANDFIRST = "The Russian foreign minister and the US secretary of state talked for three hours."
PARAGRAPHS = [
    "Sergey Lavrov told reporters in Geneva that Moscow would not accept new NATO "
    "battalions near the border with Estonia.",
    "Antony Blinken said Washington would keep its promises to allies in the Baltic region.",
    "Lavrov added that President Vladimir Putin had approved the proposal before the talks.",
    "Putin's spokesman did not say when the Kremlin would reply.",
    "Officials of the European Union will meet in Brussels on Monday to discuss sanctions.",
]


def make_article(title: str, standfirst: str, paragraphs: list[str]) -> ArticleText:
    """Lay out a title, standfirst and one-sentence paragraphs the way the cleaner does."""
    text = ""
    sentences: list[tuple[int, int]] = []
    for piece in [title, standfirst, *paragraphs]:
        if text:
            text += "\n"
        sentences.append((len(text), len(text) + len(piece)))
        text += piece
    lead_end = len(title) + 1 + len(standfirst)
    return ArticleText(text=text, sentences=sentences, lead_end=lead_end)


def summarise(found: list[Entity]) -> list[tuple[str, EntityType, list[tuple[int, int]]]]:
    return [
        (entity.name, entity.type, [(mention.start, mention.end) for mention in entity.mentions])
        for entity in found
    ]


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    return load_entity_tagger()


@pytest.fixture(scope="module")
def entities(tagger: EntityTagger) -> dict[str, Entity]:
    (found,) = tagger.tag_articles([make_article(TITLE, STANDFIRST, PARAGRAPHS)])
    return {entity.name: entity for entity in found}


def test_shipped_model_is_named_for_versioning(tagger: EntityTagger) -> None:
    assert tagger.model_name == "stancewire-ner-minilm-1"


def test_people_get_their_full_names_and_all_mentions(entities: dict[str, Entity]) -> None:
    lavrov = entities["Sergey Lavrov"]
    assert lavrov.type is EntityType.PER
    # "Lavrov" in the title comes before the full name and still joins it.
    assert [mention.text for mention in lavrov.mentions] == ["Lavrov", "Sergey Lavrov", "Lavrov"]
    assert lavrov.count == 3
    putin = entities["Vladimir Putin"]
    assert putin.type is EntityType.PER
    assert [mention.text for mention in putin.mentions] == ["Vladimir Putin", "Putin"]
    assert entities["Antony Blinken"].type is EntityType.PER
    assert entities["Antony Blinken"].count == 2


def test_organisations_and_places_get_their_types(entities: dict[str, Entity]) -> None:
    assert entities["NATO"].type is EntityType.ORG
    assert entities["NATO"].count == 2
    assert entities["European Union"].type is EntityType.ORG
    for place in ("Geneva", "Moscow", "Estonia", "Brussels"):
        assert entities[place].type is EntityType.LOC, place
    assert entities["Geneva"].count == 2


def test_nationalities_are_misc(entities: dict[str, Entity]) -> None:
    assert entities["Russian"].type is EntityType.MISC


def test_offsets_point_at_the_mention_text(entities: dict[str, Entity]) -> None:
    text = make_article(TITLE, STANDFIRST, PARAGRAPHS).text
    assert len(entities) >= 10  # the loop below must have something to check
    for entity in entities.values():
        assert entity.count == len(entity.mentions)
        for mention in entity.mentions:
            assert text[mention.start : mention.end] == mention.text
            assert 0.5 <= mention.score <= 1.0


def test_salience_ranks_the_lead_figures_above_passing_mentions(
    entities: dict[str, Entity],
) -> None:
    assert entities["Sergey Lavrov"].salience > entities["Brussels"].salience
    assert entities["NATO"].salience > entities["Estonia"].salience
    assert entities and all(0.0 <= entity.salience <= 1.0 for entity in entities.values())


def test_entities_come_most_salient_first(tagger: EntityTagger) -> None:
    (found,) = tagger.tag_articles([make_article(TITLE, STANDFIRST, PARAGRAPHS)])
    saliences = [entity.salience for entity in found]
    assert saliences == sorted(saliences, reverse=True)
    assert found[0].name == "Sergey Lavrov"


def test_a_batch_gives_each_article_what_it_gets_alone(tagger: EntityTagger) -> None:
    other = make_article(
        "Ukraine asks the United Nations for observers",
        "Kyiv wants monitors along the front line in Donetsk.",
        ["Volodymyr Zelensky wrote to Antonio Guterres on Tuesday."],
    )
    main = make_article(TITLE, STANDFIRST, PARAGRAPHS)
    alone = tagger.tag_articles([other])[0]
    together = tagger.tag_articles([main, other, main])
    # Padding to the batch's longest window changes scores in the last float digits only.
    assert summarise(together[1]) == summarise(alone)
    assert summarise(together[0]) == summarise(together[2])
    for batched, single in zip(together[1], alone, strict=True):
        for left, right in zip(batched.mentions, single.mentions, strict=True):
            assert left.score == pytest.approx(right.score, abs=1e-3)
    names = {entity.name: entity.type for entity in alone}
    assert names["Volodymyr Zelensky"] is EntityType.PER
    assert names["Antonio Guterres"] is EntityType.PER
    assert names["United Nations"] is EntityType.ORG
    assert names["Kyiv"] is EntityType.LOC


def test_articles_longer_than_the_window_are_read_to_the_end(tagger: EntityTagger) -> None:
    filler = "The delegations spent the morning on technical questions about the draft text."
    paragraphs = [filler] * 40 + ["At the end of the day Lavrov flew back to Moscow."]
    article = make_article(TITLE, STANDFIRST, paragraphs)
    (found,) = tagger.tag_articles([article])
    by_name = {entity.name: entity for entity in found}
    last = by_name["Moscow"].mentions[-1]
    assert last.start > len(article.text) - 20
    assert article.text[last.start : last.end] == "Moscow"
    assert by_name["Lavrov"].count == 2


def test_an_article_without_names_has_no_entities(tagger: EntityTagger) -> None:
    article = make_article("talks continue", "no agreement yet.", ["they will meet again."])
    assert tagger.tag_articles([article, ArticleText(text="", sentences=[], lead_end=0)]) == [
        [],
        [],
    ]


def test_any_token_classification_folder_can_replace_the_shipped_model(tmp_path: Path) -> None:
    """A Hugging Face model folder loads by path; its labels are decoded as valid BIO."""
    from transformers import AutoTokenizer, BertForTokenClassification

    from pipeline.kernels.backbone import base_model_dir

    labels = ["O", "B-PERSON", "I-PERSON", "B-ORG", "I-ORG", "B-GPE", "I-GPE"]
    config = tiny_bert_config(
        vocab_size=30522,
        heads=2,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    network = BertForTokenClassification(config)
    # Untrained weights say nothing; a bias toward B-GPE makes every word a place, so the
    # test sees the label mapping (GPE -> LOC) and the offsets on every word.
    with torch.no_grad():
        network.classifier.bias[labels.index("B-GPE")] = 50.0
    network.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(str(base_model_dir())).save_pretrained(tmp_path)
    tagger = load_entity_tagger(tmp_path, batch_size=2)
    assert tagger.model_name == str(tmp_path)
    article = make_article(TITLE, STANDFIRST, PARAGRAPHS)
    (found,) = tagger.tag_articles([article])
    assert len(found) > 20
    for entity in found:
        assert entity.type is EntityType.LOC
        for mention in entity.mentions:
            assert article.text[mention.start : mention.end] == mention.text


def test_tokens_seen_counts_each_window_and_its_special_tokens(tagger: EntityTagger) -> None:
    from transformers import AutoTokenizer

    from pipeline.entities import split_words
    from pipeline.kernels.backbone import base_model_dir

    short = make_article("Lavrov meets Rubio in Budapest", "Talks on Ukraine go on.", [])
    words = [short.text[start:end] for sentence in split_words(short) for start, end in sentence]
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir(), local_files_only=True)
    pieces = tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    before = tagger.tokens_seen
    tagger.tag_articles([short])
    # One window: every word piece, plus [CLS] and [SEP]; no padding.
    assert tagger.tokens_seen - before == len(pieces) + 2

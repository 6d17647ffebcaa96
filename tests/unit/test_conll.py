"""CoNLL reading, prediction writing and conlleval-style scoring."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.conll import (
    ConllFormatError,
    Span,
    extract_spans,
    read_conll,
    score_spans,
    write_predictions,
)

SAMPLE = """-DOCSTART- -X- -X- O

Lavrov NNP B-NP B-PER
met VBD B-VP O
Blinken NNP B-NP B-PER
in IN B-PP O
Geneva NNP B-NP B-LOC
. . O O

NATO NNP B-NP B-ORG
said VBD B-VP O

-DOCSTART- -X- -X- O

New NNP B-NP B-LOC
York NNP I-NP I-LOC"""


def test_read_conll_splits_documents_and_sentences(tmp_path: Path) -> None:
    path = tmp_path / "sample.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    documents = read_conll(path)
    assert [len(document.sentences) for document in documents] == [2, 1]
    first = documents[0].sentences[0]
    assert first.tokens == ["Lavrov", "met", "Blinken", "in", "Geneva", "."]
    assert first.tags == ["B-PER", "O", "B-PER", "O", "B-LOC", "O"]
    assert documents[1].sentences[0].tags == ["B-LOC", "I-LOC"]


def test_read_conll_accepts_two_columns_without_docstart(tmp_path: Path) -> None:
    path = tmp_path / "two.txt"
    path.write_text("Kyiv B-LOC\nsaid O\n\nEU B-ORG\n", encoding="utf-8")
    documents = read_conll(path)
    assert len(documents) == 1
    assert [sentence.tokens for sentence in documents[0].sentences] == [["Kyiv", "said"], ["EU"]]


def test_read_conll_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("Kyiv B-LOC\nsaid PERSON\n", encoding="utf-8")
    with pytest.raises(ConllFormatError, match=r"bad.txt:2: 'PERSON'"):
        read_conll(path)


def test_extract_spans_follows_conlleval_for_invalid_sequences() -> None:
    # conlleval opens an entity at an I- tag after O, and closes one when the type changes.
    assert extract_spans(["O", "I-PER", "I-PER", "I-ORG", "B-ORG", "O"]) == [
        Span("PER", 1, 3),
        Span("ORG", 3, 4),
        Span("ORG", 4, 5),
    ]
    assert extract_spans(["B-LOC", "I-LOC"]) == [Span("LOC", 0, 2)]


def test_score_spans_counts_only_exact_entities() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "B-MISC"]]
    figures = score_spans(gold, predicted)
    # Correct: LOC and ORG; the truncated PER and the extra MISC are wrong.
    assert figures["precision"] == pytest.approx(2 / 4)
    assert figures["recall"] == pytest.approx(2 / 3)
    assert figures["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    per_type = figures["per_type"]
    assert isinstance(per_type, dict)
    assert per_type["PER"]["f1"] == 0.0
    assert per_type["LOC"]["f1"] == 1.0
    assert per_type["MISC"]["precision"] == 0.0


def test_score_spans_rejects_misaligned_sentences() -> None:
    with pytest.raises(ValueError, match="2 gold tags but 1 predicted"):
        score_spans([["O", "O"]], [["O"]])


def test_write_predictions_writes_every_sentence(tmp_path: Path) -> None:
    source = tmp_path / "sample.txt"
    source.write_text(SAMPLE, encoding="utf-8")
    sentences = [sentence for document in read_conll(source) for sentence in document.sentences]
    guesses = [["O"] * len(sentence.tokens) for sentence in sentences]
    out = tmp_path / "predictions.txt"
    write_predictions(out, sentences, guesses)
    blocks = out.read_text(encoding="utf-8").split("\n\n")
    assert len([block for block in blocks if block.strip()]) == 3
    assert blocks[0].splitlines()[0] == "Lavrov B-PER O"

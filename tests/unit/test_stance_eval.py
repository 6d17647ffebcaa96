"""The stance eval command on tiny files of each news format: figures and prediction files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL, UNRELATED
from tests.unit.test_stance_news_data import GWSD_HEADER, _gwsd_row, write_newsmtsc
from tests.unit.test_stance_training import _write_pstance
from training.stance_eval import entity_mentions, main, predict_directed, score_items
from training.stance_training import main as train_main


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stance model trained for one epoch on a tiny P-Stance set (head and top layer)."""
    root = tmp_path_factory.mktemp("stance")
    _write_pstance(root / "data" / "pstance")
    out = root / "model"
    arguments = ["train", "--data", str(root / "data"), "--out", str(out), "--device", "cpu"]
    assert train_main([*arguments, "--threads", "1", "--frozen-layers", "5"]) == 0
    return out


def _predictions(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_newsmtsc_eval_writes_one_row_per_target_with_polarity_as_written(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_newsmtsc(tmp_path / "dev.jsonl")
    out = tmp_path / "predictions.csv"
    arguments = ["eval", "--format", "newsmtsc", "--data", str(tmp_path / "dev.jsonl")]
    assert main([*arguments, "--model", str(tiny_model), "--predictions", str(out), "--json"]) == 0
    rows = _predictions(out)
    assert rows[0] == ["index", "gold", "predicted"]
    assert [row[:2] for row in rows[1:]] == [["0", "2.0"], ["1", "4.0"], ["2", "6.0"]]
    assert {row[2] for row in rows[1:]} <= {"2.0", "4.0", "6.0"}
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["examples"] == 3
    assert 0.0 <= scores["macro_f1"] <= 1.0 and 0.0 <= scores["accuracy"] <= 1.0


def test_gwsd_eval_skips_screening_rows(tiny_model: Path, tmp_path: Path) -> None:
    body = (
        _gwsd_row(0, "s0", "Glaciers are a myth.", "\t\t")
        + _gwsd_row(5, "t0", "Warming is driving the floods.", "0.1\t0.8\t0.1")
        + _gwsd_row(6, "t1", "It is all a scare.", "0.7\t0.1\t0.2")
    )
    (tmp_path / "gwsd.tsv").write_text(GWSD_HEADER + body, encoding="utf-8")
    out = tmp_path / "predictions.csv"
    arguments = ["eval", "--format", "gwsd", "--data", str(tmp_path / "gwsd.tsv")]
    assert main([*arguments, "--model", str(tiny_model), "--predictions", str(out)]) == 0
    rows = _predictions(out)[1:]
    assert [row[:2] for row in rows] == [["0", "agree"], ["1", "disagree"]]
    assert {row[2] for row in rows} <= {"agree", "disagree", "neutral"}


def test_persent_eval_scores_each_document_through_the_classifier(
    tiny_model: Path, tmp_path: Path
) -> None:
    paragraphs = ",".join(f"Paragraph{n}" for n in range(16))
    documents = [
        (
            "3",
            "Lena Brandt",
            "Lena Brandt opened the new clinic. Brandt thanked the nurses.",
            "Positive",
        ),
        ("8", "Tom Hask", "The river rose overnight and the bridge closed.", "Neutral"),
    ]
    rows = [
        f'{index},Title,{entity},"{text}","{text}",{gold}' + "," * 16
        for index, entity, text, gold in documents
    ]
    header = "DOCUMENT_INDEX,TITLE,TARGET_ENTITY,DOCUMENT,MASKED_DOCUMENT,TRUE_SENTIMENT,"
    (tmp_path / "dev.csv").write_text(header + paragraphs + "\r\n" + "\r\n".join(rows), "utf-8")
    out = tmp_path / "predictions.csv"
    arguments = ["eval", "--format", "persent", "--data", str(tmp_path / "dev.csv")]
    assert main([*arguments, "--model", str(tiny_model), "--predictions", str(out)]) == 0
    predicted = _predictions(out)[1:]
    assert [row[:2] for row in predicted] == [["0", "Positive"], ["1", "Neutral"]]
    # The second document never names its entity: no evidence is neutral.
    assert predicted[1][2] == "Neutral"


def test_entity_mentions_find_the_name_and_its_surname_as_words() -> None:
    text = "Lena Brandt spoke. Brandt left; Brandtford is a town."
    found = [(m.text, m.start) for m in entity_mentions(text, "Lena Brandt")]
    assert found == [("Lena Brandt", 0), ("Brandt", 19)]


def _row(favor: float, against: float, neutral: float) -> list[float]:
    row = [0.0] * 4
    row[FAVOR], row[AGAINST], row[NEUTRAL], row[UNRELATED] = favor, against, neutral, 0.0
    return row


def test_directed_rows_are_read_from_both_directions() -> None:
    probabilities = torch.tensor(
        [
            _row(0.8, 0.1, 0.1), _row(0.1, 0.1, 0.8),  # 1 favors 2: class 1
            _row(0.1, 0.1, 0.8), _row(0.1, 0.8, 0.1),  # 2 against 1: class 4
            _row(0.1, 0.1, 0.8), _row(0.2, 0.1, 0.7),  # calm both ways: class 0
        ]
    )  # fmt: skip
    assert predict_directed(probabilities) == ["1", "4", "0"]


def test_scores_are_macro_f1_over_the_data_sets_own_labels() -> None:
    scores = score_items("emergent", ["for", "against", "observing"], ["for", "for", "observing"])
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.0 + 1.0) / 3)
    news = score_items("newsmtsc", ["2.0", "6.0"], ["2.0", "4.0"])
    assert news["accuracy"] == 0.5

"""Stance data readers and metrics on tiny inline files."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.stance_data import (
    AGAINST,
    FAVOR,
    NEUTRAL,
    UNRELATED,
    StanceDataError,
    fnc_relative_score,
    is_dev_group,
    macro_f1,
    read_fnc,
    read_pstance,
    read_semeval,
    score_predictions,
    select_evidence,
    semeval_f_avg,
)


def test_fnc_relative_score_weights_related_classes() -> None:
    gold = ["agree", "unrelated", "discuss", "disagree"]
    # best = 1 + 0.25 + 1 + 1 = 3.25
    assert fnc_relative_score(gold, gold) == pytest.approx(1.0)
    # agree->discuss keeps the related credit (0.25); unrelated right (0.25);
    # discuss->unrelated gets nothing; disagree right (1.0).
    predicted = ["discuss", "unrelated", "unrelated", "disagree"]
    assert fnc_relative_score(gold, predicted) == pytest.approx(1.5 / 3.25)


def test_all_unrelated_baseline_scores_only_the_unrelated_share() -> None:
    gold = ["unrelated"] * 3 + ["agree"]
    assert fnc_relative_score(gold, ["unrelated"] * 4) == pytest.approx(0.75 / 1.75)


def test_macro_f1_counts_missing_classes_as_zero() -> None:
    gold = ["favor", "favor", "against", "against"]
    predicted = ["favor", "favor", "favor", "against"]
    favor_f1 = 2 * 2 / (3 + 2)
    against_f1 = 2 * 1 / (1 + 2)
    assert macro_f1(gold, predicted, ("favor", "against")) == pytest.approx(
        (favor_f1 + against_f1) / 2
    )
    assert macro_f1(gold, predicted, ("favor", "against", "none")) == pytest.approx(
        (favor_f1 + against_f1) / 3
    )


def test_semeval_f_avg_ignores_none_f1() -> None:
    gold = ["none", "none", "favor", "against"]
    predicted = ["favor", "none", "favor", "against"]
    # favor: 1 hit, 2 predicted, 1 gold -> 2/3; against: 1.0
    assert semeval_f_avg(gold, predicted) == pytest.approx((2 / 3 + 1.0) / 2)
    assert score_predictions("semeval2016", gold, predicted)["f_avg"] == pytest.approx(5 / 6)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(StanceDataError, match="unknown format"):
        score_predictions("snli", ["favor"], ["favor"])


def test_read_fnc_maps_labels_and_keeps_row_order(tmp_path: Path) -> None:
    bodies = tmp_path / "bodies.csv"
    bodies.write_text(
        'Body ID,articleBody\n7,"The ministry denied the report.\nIt called it false."\n'
        '9,"Rain is expected on Sunday. Farmers welcomed it."\n'
    )
    stances = tmp_path / "stances.csv"
    stances.write_text(
        "Headline,Body ID,Stance\n"
        "Ministry confirms report ,7,disagree\n"
        "Ministry confirms report ,9,unrelated\n"
        '"Rain, finally",9,agree\n'
        "Rain on Sunday,9,discuss\n"
    )
    examples = read_fnc(stances, bodies)
    assert [ex.label for ex in examples] == [AGAINST, UNRELATED, FAVOR, NEUTRAL]
    assert [ex.gold for ex in examples] == ["disagree", "unrelated", "agree", "discuss"]
    assert examples[0].target == "Ministry confirms report"
    assert "denied" in examples[0].passage
    assert examples[2].target == "Rain, finally"


def test_read_fnc_rejects_an_unknown_stance(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("Body ID,articleBody\n1,text\n")
    (tmp_path / "s.csv").write_text("Headline,Body ID,Stance\nx,1,maybe\n")
    with pytest.raises(StanceDataError, match="unknown stance 'maybe'"):
        read_fnc(tmp_path / "s.csv", tmp_path / "b.csv")


def test_read_semeval_uses_mapping_and_folder_target(tmp_path: Path) -> None:
    (tmp_path / "mapping.txt").write_text("0\tnone\n1\tagainst\n2\tfavor")
    folder = tmp_path / "climate"
    folder.mkdir()
    (folder / "val_text.txt").write_text("We must act now #SemST \nnice weather \n")
    (folder / "val_labels.txt").write_text("2\n0\n")
    examples = read_semeval(tmp_path, "val")
    assert [ex.gold for ex in examples] == ["favor", "none"]
    assert [ex.label for ex in examples] == [FAVOR, NEUTRAL]
    assert examples[0].target == "Climate Change is a Real Concern"
    with pytest.raises(StanceDataError, match=r"train_text\.txt"):
        read_semeval(tmp_path, "train")


def test_read_pstance_reads_crlf_without_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "raw_val_x.csv"
    path.write_bytes(
        b'Tweet,Target,Stance\r\n"Great plan, Joe",Joe Biden,FAVOR\r\nNo way,Joe Biden,AGAINST'
    )
    examples = read_pstance(path)
    assert [(ex.passage, ex.target, ex.gold) for ex in examples] == [
        ("Great plan, Joe", "Joe Biden", "favor"),
        ("No way", "Joe Biden", "against"),
    ]


def test_select_evidence_prefers_sentences_sharing_claim_words() -> None:
    body = (
        "Markets were calm. The minister denied resigning over the budget. "
        "Weather was fine. Officials said the budget would pass."
    )
    passage = select_evidence("Minister resigning over budget", body, count=2)
    assert passage == (
        "The minister denied resigning over the budget. Officials said the budget would pass."
    )


def test_dev_split_is_by_group_and_deterministic() -> None:
    groups = [f"headline {number}" for number in range(2000)]
    chosen = [group for group in groups if is_dev_group(group)]
    assert 120 < len(chosen) < 280
    assert chosen == [group for group in groups if is_dev_group(group.upper() + "  ")]

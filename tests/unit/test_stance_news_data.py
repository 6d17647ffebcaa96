"""Readers of the news stance data sets, each on a tiny file in its own format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL
from training.stance_data import StanceDataError
from training.stance_news_data import (
    GWSD_TARGET,
    carve_dev,
    parse_directed_sentence,
    read_directed,
    read_emergent,
    read_gwsd,
    read_newsmtsc,
    read_persent,
    read_vast,
)


def write_newsmtsc(path: Path) -> None:
    lines = [
        {
            "primary_gid": "a_1",
            "sentence_normalized": "Critics said Governor Pell [again] misled the inquiry.",
            "targets": [
                {"Input.gid": "a_1", "from": 22, "to": 26, "mention": "Pell", "polarity": 2.0}
            ],
        },
        {
            "primary_gid": "b_2",
            "sentence_normalized": "Okafor thanked Dunmore for the quick repairs.",
            "targets": [
                {"Input.gid": "b_1", "from": 0, "to": 6, "mention": "Okafor", "polarity": 4.0},
                {"Input.gid": "b_2", "from": 15, "to": 22, "mention": "Dunmore", "polarity": 6.0},
            ],
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_newsmtsc_one_example_per_target_in_order_with_polarity_as_written(
    tmp_path: Path,
) -> None:
    write_newsmtsc(tmp_path / "dev.jsonl")
    examples = read_newsmtsc(tmp_path / "dev.jsonl")
    assert [ex.gold for ex in examples] == ["2.0", "4.0", "6.0"]
    assert [ex.label for ex in examples] == [AGAINST, NEUTRAL, FAVOR]
    assert [ex.target for ex in examples] == ["Pell", "Okafor", "Dunmore"]
    assert examples[0].passage == "Critics said Governor [Pell] (again) misled the inquiry."
    assert examples[2].passage == "Okafor thanked [Dunmore] for the quick repairs."


def test_newsmtsc_refuses_a_target_outside_its_sentence(tmp_path: Path) -> None:
    line = {"sentence_normalized": "Short.", "targets": [{"from": 2, "to": 40, "polarity": 4.0}]}
    (tmp_path / "bad.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(StanceDataError, match=r"bad\.jsonl:1"):
        read_newsmtsc(tmp_path / "bad.jsonl")


def test_directed_brackets_become_spans_even_when_off_by_a_letter() -> None:
    text, first, second = parse_directed_sentence("[Riga Por]t fined [Hale Shipping] twice.")
    assert text == "Riga Port fined Hale Shipping twice."
    assert text[first[0] : first[1]] == "Riga Por"
    assert text[second[0] : second[1]] == "Hale Shipping"


def test_directed_rows_give_both_directions(tmp_path: Path) -> None:
    rows = [
        "[Senator Abbe] praised [Mayor Quist] for the deal.\tSenator Abbe\tMayor Quist\t1",
        # CSV quoting, as in the data set: the field in quotes, inner quotes doubled.
        '"""The ""plan"" fails,"" [Quist] told [Abbe]."\tQuist\tAbbe\t4',
        "[Lisbon] hosted [Oslo] delegates.\tLisbon\tOslo\t0",
    ]
    (tmp_path / "valid.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    examples = read_directed(tmp_path / "valid.txt")
    assert len(examples) == 6
    forward, backward = examples[0], examples[1]
    assert forward.passage == "{Senator Abbe} praised [Mayor Quist] for the deal."
    assert (forward.target, forward.label) == ("Mayor Quist", FAVOR)
    assert backward.passage == "[Senator Abbe] praised {Mayor Quist} for the deal."
    assert (backward.target, backward.label) == ("Senator Abbe", NEUTRAL)
    # Label 4: entity 2 (Abbe) is negative toward entity 1 (Quist).
    assert examples[3].passage == '"The "plan" fails," [Quist] told {Abbe}.'
    assert (examples[2].label, examples[3].label) == (NEUTRAL, AGAINST)
    assert examples[3].target == "Quist"
    assert [ex.gold for ex in examples] == ["1", "1", "4", "4", "0", "0"]


def test_directed_refuses_a_row_without_two_entities(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("[Only] one here.\tOnly\tx\t0\n", encoding="utf-8")
    with pytest.raises(StanceDataError, match=r"bad\.txt:1: expected exactly two"):
        read_directed(tmp_path / "bad.txt")


GWSD_HEADER = (
    "\tround\tbatch\tsent_id\tsentence\t"
    + "\t".join(f"worker_{n}" for n in range(8))
    + "\tdisagree\tagree\tneutral\tguid\tin_held_out_test\n"
)


def _gwsd_row(index: int, sent_id: str, sentence: str, probabilities: str) -> str:
    workers = "\t".join(["neutral"] * 8)
    fields = [str(index), "1", "0", sent_id, sentence, workers, probabilities, f"1_0_{sent_id}"]
    return "\t".join([*fields, "False"]) + "\n"


def test_gwsd_skips_screening_rows_and_takes_the_largest_probability(tmp_path: Path) -> None:
    body = (
        _gwsd_row(0, "s0", "Glaciers are a myth.", "\t\t")
        + _gwsd_row(5, "t0", "Floods in the delta grew worse with warming.", "0.1\t0.8\t0.1")
        + _gwsd_row(6, "t1", '"Nothing to worry about," he said.', "0.7\t0.1\t0.2")
        + _gwsd_row(7, "t2", "The report runs to 90 pages.", "0.2\t0.1\t0.7")
    )
    (tmp_path / "gwsd.tsv").write_text(GWSD_HEADER + body, encoding="utf-8")
    examples = read_gwsd(tmp_path / "gwsd.tsv")
    assert [ex.gold for ex in examples] == ["agree", "disagree", "neutral"]
    assert [ex.label for ex in examples] == [FAVOR, AGAINST, NEUTRAL]
    assert examples[1].passage == "Nothing to worry about, he said."
    assert {ex.target for ex in examples} == {GWSD_TARGET}


def test_emergent_and_vast_map_their_labels(tmp_path: Path) -> None:
    (tmp_path / "emergent.csv").write_text(
        ",claimHeadline,articleHeadline,articleHeadlineStance,articleId,claimId\n"
        "4,A pike swallowed a drone,Angler films pike eating drone,for,a1,c1\n"
        "9,A pike swallowed a drone,Drone-eating pike video is staged,against,a2,c1\n"
        "12,City bans kites,Council to debate kite rules,observing,a3,c2\n",
        encoding="utf-8",
    )
    emergent = read_emergent(tmp_path / "emergent.csv")
    assert [(ex.label, ex.gold, ex.group) for ex in emergent] == [
        (FAVOR, "for", "c1"),
        (AGAINST, "against", "c1"),
        (NEUTRAL, "observing", "c2"),
    ]
    assert emergent[0].target == "A pike swallowed a drone"
    (tmp_path / "vast.csv").write_text(
        'Tweet,Target,Stance,seen?\r\n"Tolls ""work"", look at Oslo.",road tolls,1,0\r\n'
        "Nobody asked for this.,road tolls,0,1\r\nHard to say.,school lunches,2,0\r\n",
        encoding="utf-8",
    )
    vast = read_vast(tmp_path / "vast.csv")
    assert [(ex.label, ex.gold) for ex in vast] == [(FAVOR, "1"), (AGAINST, "0"), (NEUTRAL, "2")]
    assert vast[0].passage == 'Tolls "work", look at Oslo.'


def test_persent_reads_documents_with_paragraph_breaks(tmp_path: Path) -> None:
    paragraphs = ",".join(f"Paragraph{n}" for n in range(16))
    (tmp_path / "persent.csv").write_text(
        "DOCUMENT_INDEX,TITLE,TARGET_ENTITY,DOCUMENT,MASKED_DOCUMENT,TRUE_SENTIMENT,"
        + paragraphs
        + '\r\n7,Coach leaves,Mara Toft,"Mara Toft left the club.\nFans thanked her.",'
        '"[TGT] left the club.\n Fans thanked [TGT].",Positive,Neutral,Positive' + "," * 14,
        encoding="utf-8",
    )
    (document,) = read_persent(tmp_path / "persent.csv")
    assert (document.index, document.entity, document.gold) == ("7", "Mara Toft", "Positive")
    assert document.text == "Mara Toft left the club.\nFans thanked her."


def test_carved_dev_keeps_a_group_on_one_side() -> None:
    from training.stance_data import StanceExample

    examples = [
        StanceExample("claim", f"headline {n}", FAVOR, "for", "emergent", f"claim-{n % 7}")
        for n in range(70)
    ]
    train, dev = carve_dev(examples, 50)
    assert len(train) + len(dev) == 70
    assert not {ex.group for ex in train} & {ex.group for ex in dev}
    assert dev and train

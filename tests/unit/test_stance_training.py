"""The stance training command end to end on a tiny P-Stance-format set, on the CPU."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from training import stance_training
from training.stance_training import main

TWEETS = [
    ("Proud to stand with {t} tonight, best choice for the country", "FAVOR"),
    ("{t} has my vote, finally someone who listens", "FAVOR"),
    ("Another disaster of a speech from {t}, resign already", "AGAINST"),
    ("{t} lies every single day and the press lets it slide", "AGAINST"),
]


def _write_pstance(folder: Path, hashtag: str = "") -> None:
    folder.mkdir(parents=True)
    for split, target in (("train", "Ada Lark"), ("val", "Ben Moor")):
        with (folder / f"raw_{split}_x.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Tweet", "Target", "Stance"])
            for text, label in TWEETS * 2:
                writer.writerow([f"{text.format(t=target)} {hashtag}".strip(), target, label])


def test_training_with_source_labels_writes_a_calibrated_model(tmp_path: Path) -> None:
    _write_pstance(tmp_path / "data" / "pstance")
    out = tmp_path / "model"
    code = main(
        [
            "train",
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--frozen-layers",
            "5",
            "--source-labels",
            "--device",
            "cpu",
            "--threads",
            "1",
        ]
    )
    assert code == 0
    settings = json.loads((out / "stance.json").read_text())
    assert settings["training"]["source_labels"] is True
    assert settings["training"]["device"] == "cpu"
    assert settings["frozen_layers"] == 5
    assert settings["dev"]["pstance"]["examples"] == len(TWEETS) * 2
    assert settings["temperature"] > 0
    # Tweets with a topic only: nothing taught the model to read marked entity targets.
    assert settings["marked_targets"] is False
    assert (out / "weights.safetensors").stat().st_size > 0
    assert (out / "dev" / "pstance_val.csv").exists()


NEWS = [
    ("Senator Ada Lark praised the new harbour plan as a model for the region.", "Ada Lark", 6.0),
    ("Critics accused Ben Moor of hiding the cost of the bridge from voters.", "Ben Moor", 2.0),
    ("The delegation met Ada Lark in the town hall on Tuesday morning.", "Ada Lark", 4.0),
]


def test_a_model_trained_on_marked_entity_targets_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "newsmtsc"
    folder.mkdir(parents=True)
    for split in ("train", "dev_rw"):
        with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for number, (sentence, mention, polarity) in enumerate(NEWS):
                start = sentence.index(mention)
                target = {"from": start, "to": start + len(mention), "polarity": polarity}
                line = {"primary_gid": f"{split}{number}", "sentence_normalized": sentence}
                handle.write(json.dumps({**line, "targets": [target]}) + "\n")
    out = tmp_path / "model"
    arguments = ["train", "--data", str(tmp_path / "data"), "--out", str(out), "--device", "cpu"]
    assert main([*arguments, "--threads", "1", "--frozen-layers", "5", "--source-labels"]) == 0
    settings = json.loads((out / "stance.json").read_text())
    assert settings["marked_targets"] is True
    assert settings["dev"]["newsmtsc_rw"]["examples"] == len(NEWS)
    assert settings["training"]["examples"] == {"newsmtsc": len(NEWS)}


def _train(tmp_path: Path, name: str, *options: str) -> Path:
    out = tmp_path / name
    arguments = ["train", "--data", str(tmp_path / "data"), "--out", str(out), "--device", "cpu"]
    assert main([*arguments, "--threads", "1", "--frozen-layers", "4", *options]) == 0
    return out


def test_training_options_of_the_sweep_are_recorded_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_pstance(tmp_path / "data" / "pstance", hashtag="#VoteForAdaLark")
    split: list[str] = []
    monkeypatch.setattr(
        stance_training, "split_hashtags", lambda text: split.append(text) or text.lower()
    )
    plain = _train(tmp_path, "plain")
    assert split == []
    averaged = _train(tmp_path, "averaged", "--ema", "0.9", "--split-hashtags")
    assert any("#VoteForAdaLark" in text for text in split)
    settings = json.loads((averaged / "stance.json").read_text())
    assert settings["split_hashtags"] is True
    assert settings["training"]["ema"] == 0.9
    # Same seed and data: only the moving average (and the hashtags) differ.
    assert (
        load_file(plain / "weights.safetensors")["head.weight"]
        .ne(load_file(averaged / "weights.safetensors")["head.weight"])
        .any()
    )


def test_adaptation_is_recorded(tmp_path: Path) -> None:
    _write_pstance(tmp_path / "data" / "pstance")
    out = tmp_path / "model"
    arguments = ["train", "--data", str(tmp_path / "data"), "--out", str(out), "--device", "cpu"]
    assert main([*arguments, "--threads", "1", "--frozen-layers", "0", "--adapt-epochs", "1"]) == 0
    training = json.loads((out / "stance.json").read_text())["training"]
    assert training["adapt_epochs"] == 1 and training["adapt_batch_size"] == 128


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--frozen-layers", "5", "--adapt-epochs", "1"], "adaptation trains every layer"),
        (["--ema", "1.0"], "--ema must be between 0 and 1"),
        (["--adapt-epochs", "-1", "--frozen-layers", "0"], "--adapt-epochs must be 0 or more"),
    ],
)
def test_bad_training_options_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    _write_pstance(tmp_path / "data" / "pstance")
    out = tmp_path / "model"
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(out), *options]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()

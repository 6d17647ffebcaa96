"""The stance training command end to end on a tiny P-Stance-format set, on the CPU."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline.stance_training import main

TWEETS = [
    ("Proud to stand with {t} tonight, best choice for the country", "FAVOR"),
    ("{t} has my vote, finally someone who listens", "FAVOR"),
    ("Another disaster of a speech from {t}, resign already", "AGAINST"),
    ("{t} lies every single day and the press lets it slide", "AGAINST"),
]


def _write_pstance(folder: Path) -> None:
    folder.mkdir(parents=True)
    for split, target in (("train", "Ada Lark"), ("val", "Ben Moor")):
        with (folder / f"raw_{split}_x.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Tweet", "Target", "Stance"])
            for text, label in TWEETS * 2:
                writer.writerow([text.format(t=target), target, label])


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
    assert (out / "weights.safetensors").stat().st_size > 0
    assert (out / "dev" / "pstance_val.csv").exists()


def test_training_options_of_the_sweep_are_recorded_and_used(tmp_path: Path) -> None:
    _write_pstance(tmp_path / "data" / "pstance")
    out = tmp_path / "model"
    arguments = ["train", "--data", str(tmp_path / "data"), "--out", str(out)]
    arguments += ["--frozen-layers", "0", "--adapt-epochs", "1", "--split-hashtags"]
    arguments += ["--ema", "0.9", "--device", "cpu", "--threads", "1"]
    assert main(arguments) == 0
    settings = json.loads((out / "stance.json").read_text())
    assert settings["split_hashtags"] is True
    assert settings["training"]["ema"] == 0.9
    assert settings["training"]["adapt_epochs"] == 1
    assert settings["dev"]["pstance"]["examples"] == len(TWEETS) * 2


def test_adaptation_needs_every_layer_trainable(tmp_path: Path) -> None:
    _write_pstance(tmp_path / "data" / "pstance")
    arguments = ["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m")]
    arguments += ["--frozen-layers", "5", "--adapt-epochs", "1", "--device", "cpu"]
    assert main(arguments) == 2

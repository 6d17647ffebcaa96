"""The stance training corpus: every data set found under the data folder, mapped onto the
shared labels, with one dev set each and the per-label weights of the loss."""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL, UNRELATED
from training.stance_data import (
    StanceDataError,
    StanceExample,
    is_dev_group,
    read_fnc,
    read_pstance,
    read_semeval,
)
from training.stance_news_data import (
    carve_dev,
    read_directed,
    read_emergent,
    read_gwsd,
    read_newsmtsc,
)

SOURCES = ("fnc1", "arc", "semeval2016", "pstance", "newsmtsc", "directed", "gwsd", "emergent")


# GWSD and Emergent come without a dev file: this share (%) of sentences / claims is carved.
CARVED_DEV_SHARE = 20


# The format each dev set is scored in.
DEV_FORMATS = {
    "fnc1": "fnc1",
    "arc": "fnc1",
    "semeval2016": "semeval2016",
    "pstance": "pstance",
    "newsmtsc_rw": "newsmtsc",
    "newsmtsc_mt": "newsmtsc",
    "directed": "directed",
    "gwsd": "gwsd",
    "emergent": "emergent",
}


# Data sets whose entity targets are marked in their passage (``pipeline.stance.marking``): a
# model trained on any of them says so in its config (``marked_targets``), so that inference
# marks entity targets the same way; topic targets stay paired with unmarked passages.
MARKED_SOURCES = ("newsmtsc", "directed")


# The shared labels each data set can express: P-Stance has no neutral tweets and SemEval
# no "unrelated" class.
ALL_LABELS = (FAVOR, AGAINST, NEUTRAL, UNRELATED)


SOURCE_LABELS = {
    "fnc1": ALL_LABELS,
    "arc": ALL_LABELS,
    "semeval2016": (FAVOR, AGAINST, NEUTRAL),
    "pstance": (FAVOR, AGAINST),
    "newsmtsc": (FAVOR, AGAINST, NEUTRAL),
    "directed": (FAVOR, AGAINST, NEUTRAL),
    "gwsd": (FAVOR, AGAINST, NEUTRAL),
    "emergent": (FAVOR, AGAINST, NEUTRAL),
}


def load_training_data(
    data_root: Path, *, unrelated_share: float, seed: int
) -> tuple[list[StanceExample], dict[str, list[StanceExample]]]:
    """Training examples of every data set found under ``data_root`` and one dev set each.

    FNC-1 and ARC have no dev file, so whole headlines/claims go to dev by hash: dev
    claims are unseen in training. Training keeps ``unrelated_share`` of the unrelated
    pairs (the easy majority); dev keeps all of them so its scores are the real ones.
    """
    rng = random.Random(seed)
    train: list[StanceExample] = []
    dev: dict[str, list[StanceExample]] = {}
    for name, stances, bodies in (
        ("fnc1", "fnc1/train_stances.csv", "fnc1/train_bodies.csv"),
        ("arc", "arc/arc_stances_train.csv", "arc/arc_bodies.csv"),
    ):
        if not (data_root / stances).exists():
            continue
        examples = read_fnc(data_root / stances, data_root / bodies, source=name)
        dev[name] = [example for example in examples if is_dev_group(example.group)]
        train.extend(
            example
            for example in examples
            if not is_dev_group(example.group)
            and (example.label != UNRELATED or rng.random() < unrelated_share)
        )
    semeval = data_root / "semeval2016_tweeteval"
    if semeval.exists():
        train.extend(read_semeval(semeval, "train"))
        dev["semeval2016"] = read_semeval(semeval, "val")
    pstance = data_root / "pstance"
    if pstance.exists():
        for path in sorted(pstance.glob("raw_train_*.csv")):
            train.extend(read_pstance(path))
        dev["pstance"] = [
            ex for path in sorted(pstance.glob("raw_val_*.csv")) for ex in read_pstance(path)
        ]
    newsmtsc = data_root / "newsmtsc"
    if (newsmtsc / "train.jsonl").exists():
        train.extend(read_newsmtsc(newsmtsc / "train.jsonl"))
        for split in ("rw", "mt"):
            if (newsmtsc / f"dev_{split}.jsonl").exists():
                dev[f"newsmtsc_{split}"] = read_newsmtsc(newsmtsc / f"dev_{split}.jsonl")
    directed = data_root / "directed_sentiment"
    if (directed / "train.txt").exists():
        train.extend(read_directed(directed / "train.txt"))
        if (directed / "valid.txt").exists():
            dev["directed"] = read_directed(directed / "valid.txt")
    for name, path, reader in (
        ("gwsd", data_root / "gwsd" / "GWSD_train.tsv", read_gwsd),
        ("emergent", data_root / "emergent" / "train.csv", read_emergent),
    ):
        if path.exists():
            carved_train, dev[name] = carve_dev(reader(path), CARVED_DEV_SHARE)
            train.extend(carved_train)
    if not train:
        raise StanceDataError(f"{data_root}: no stance data found (fnc1/, arc/, pstance/, ...)")
    return train, dev


def write_dev_splits(data_root: Path, out_dir: Path) -> dict[str, Path]:
    """Write the carved dev splits as files the ``eval`` command reads in their own format.

    FNC-1/ARC dev rows (whole headlines chosen by hash) keep their original columns and
    order; the P-Stance val files are joined into one CSV. SemEval's val split is read
    in place with ``--split val``.
    """
    folder = out_dir / "dev"
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, stances in (("fnc1", "fnc1/train_stances.csv"), ("arc", "arc/arc_stances_train.csv")):
        source = data_root / stances
        if not source.exists():
            continue
        with source.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [row for row in reader if is_dev_group(row["Headline"])]
            columns = list(reader.fieldnames or ())
        written[name] = folder / f"{name}_dev_stances.csv"
        with written[name].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    val_files = sorted((data_root / "pstance").glob("raw_val_*.csv"))
    if val_files:
        written["pstance"] = folder / "pstance_val.csv"
        with written["pstance"].open("w", encoding="utf-8", newline="") as handle:
            joined = csv.writer(handle, lineterminator="\n")
            joined.writerow(["Tweet", "Target", "Stance"])
            for path in val_files:
                with path.open(encoding="utf-8", newline="") as source_handle:
                    reader = csv.DictReader(source_handle)
                    joined.writerows((r["Tweet"], r["Target"], r["Stance"]) for r in reader)
    for name, source, key, delimiter in (
        ("gwsd", data_root / "gwsd" / "GWSD_train.tsv", "sentence", "\t"),
        ("emergent", data_root / "emergent" / "train.csv", "claimId", ","),
    ):
        if source.exists():
            written[name] = folder / f"{name}_dev{source.suffix}"
            _write_carved(source, written[name], key, delimiter)
    return written


def _write_carved(source: Path, out: Path, key: str, delimiter: str) -> None:
    """The rows of ``source`` whose ``key`` column falls in the carved dev share, verbatim
    in file order with the header (as ``carve_dev`` splits them)."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = list(reader.fieldnames or ())
        rows = [row for row in reader if is_dev_group(row[key].strip(), CARVED_DEV_SHARE)]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def example_weights(examples: Sequence[StanceExample]) -> list[float]:
    """Square-root inverse frequency of each label within its own data set.

    FNC-1 ``disagree`` is 1.7 % of the data; weighting within a data set lifts it
    without letting the balanced P-Stance labels swamp FNC's rare class.
    """
    counts = Counter((example.source, example.label) for example in examples)
    per_source = Counter(example.source for example in examples)
    labels_per_source = Counter(source for source, _ in counts)
    return [
        math.sqrt(
            per_source[ex.source] / (labels_per_source[ex.source] * counts[(ex.source, ex.label)])
        )
        for ex in examples
    ]


def sample_dev(
    name: str, examples: list[StanceExample], size: int, rng: random.Random
) -> list[StanceExample]:
    """A seeded sample of a dev set, in its order; directed-sentiment rows keep both pairs."""
    width = 2 if DEV_FORMATS[name] == "directed" else 1
    items = len(examples) // width
    chosen = sorted(rng.sample(range(items), min(size, items)))
    return [examples[item * width + offset] for item in chosen for offset in range(width)]

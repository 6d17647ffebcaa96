"""Fit the side thresholds of stance aggregation on dev data: below them a target reads neutral.

Entity targets: NewsMTSC dev (dev-rw and dev-mt), each target paired as the classifier pairs
it at inference (its mention text with the sentence; the mention bracketed when the model
reads marked targets). Topic targets: the GWSD dev carved from its training file as
training does (``CARVED_DEV_SHARE``), SemEval-2016 val and a seeded sample of VAST dev. The
threshold kept for each kind is the one with the best mean macro-F1 (favor, against,
neutral) over its dev sets; the argmax rule (threshold 0) is printed beside it. ``--write``
stores both in the model's settings (``side_threshold_entity``, ``side_threshold_topic``),
which the classifier reads.

    python -m training.stance_thresholds --data DATA/stance [--model DIR] [--vast N] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.stance.classifier import SIDE_THRESHOLDS, decide_label
from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL, three_way
from pipeline.stance.marking import mark_target
from pipeline.stance.network import CONFIG_FILE, SHIPPED_MODEL_DIR
from pipeline.stance.scorer import CrossEncoderScorer
from training.stance_corpus import CARVED_DEV_SHARE
from training.stance_data import read_semeval
from training.stance_news_data import carve_dev, read_gwsd, read_vast

_NEWSMTSC = {"2.0": AGAINST, "4.0": NEUTRAL, "6.0": FAVOR}
_THREE = (FAVOR, AGAINST, NEUTRAL)  # the order of decide_label's probabilities


def newsmtsc_pairs(path: Path, marked: bool) -> tuple[list[str], list[str], list[int]]:
    """(mention, passage, gold label) for every target of a NewsMTSC file."""
    queries: list[str] = []
    passages: list[str] = []
    golds: list[int] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line, parse_float=str)
        sentence = record["sentence_normalized"]
        for target in record["targets"]:
            start, end = int(target["from"]), int(target["to"])
            queries.append(sentence[start:end])
            passages.append(mark_target(sentence, [(start, end)]) if marked else sentence)
            golds.append(_NEWSMTSC[str(target["polarity"])])
    return queries, passages, golds


def macro_f1(golds: Sequence[int], predicted: Sequence[int]) -> float:
    """Macro-F1 over favor, against and neutral."""
    scores = []
    for label in _THREE:
        hits = sum(1 for g, p in zip(golds, predicted, strict=True) if g == p == label)
        guessed = sum(1 for p in predicted if p == label)
        actual = sum(1 for g in golds if g == label)
        precision = hits / guessed if guessed else 0.0
        recall = hits / actual if actual else 0.0
        scores.append(2 * precision * recall / (precision + recall) if hits else 0.0)
    return sum(scores) / len(scores)


def scored(
    scorer: CrossEncoderScorer, queries: list[str], passages: list[str], marked: bool
) -> list[list[float]]:
    """Favor, against and neutral probabilities, as articles are scored."""
    return [three_way(row.tolist(), marked) for row in scorer.score_pairs(queries, passages)]


def fit(sets: dict[str, tuple[list[list[float]], list[int]]]) -> dict[str, Any]:
    """The threshold with the best mean macro-F1 over the dev sets given, each set's
    macro-F1 there, and with the argmax rule (threshold 0)."""

    def scores(threshold: float) -> dict[str, float]:
        return {
            name: macro_f1(golds, [_THREE[decide_label(p, threshold)] for p in rows])
            for name, (rows, golds) in sets.items()
        }

    def mean(threshold: float) -> float:
        found = scores(threshold)
        return sum(found.values()) / len(found)

    grid = [round(0.30 + 0.01 * step, 2) for step in range(61)]
    best = max(grid, key=lambda threshold: (mean(threshold), -abs(threshold - 0.5)))
    return {
        "pairs": {name: len(golds) for name, (_, golds) in sets.items()},
        "threshold": best,
        "macro_f1": scores(best),
        "argmax_macro_f1": scores(0.0),
        "curve": {f"{t:.2f}": round(mean(t), 4) for t in grid[::5]},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the stance data folder")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR)
    parser.add_argument("--vast", type=int, default=600, help="VAST dev rows sampled (seed 13)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument(
        "--write", action="store_true", help="store the thresholds in the model's settings"
    )
    args = parser.parse_args(argv)
    scorer = CrossEncoderScorer(args.model, "cpu", 32)
    marked = bool(scorer.config.get("marked_targets", False))
    entity_sets = {}
    for split in ("rw", "mt"):
        q, p, g = newsmtsc_pairs(args.data / "newsmtsc" / f"dev_{split}.jsonl", marked)
        entity_sets[f"newsmtsc_{split}"] = (scored(scorer, q, p, marked), g)
    topic_examples = {
        "gwsd": carve_dev(read_gwsd(args.data / "gwsd" / "GWSD_train.tsv"), CARVED_DEV_SHARE)[1],
        "semeval2016": read_semeval(args.data / "semeval2016_tweeteval", "val"),
        "vast": random.Random(13).sample(
            (vast := read_vast(args.data / "vast" / "vast_dev.csv")), min(len(vast), args.vast)
        ),
    }
    topic_sets = {
        name: (
            scored(scorer, [e.target for e in rows], [e.passage for e in rows], False),
            [e.label for e in rows],
        )
        for name, rows in topic_examples.items()
    }
    result = {"entity": fit(entity_sets), "topic": fit(topic_sets)}
    for kind, found in result.items():
        print(
            f"{kind}: side threshold {found['threshold']:.2f}, dev macro-F1 "
            + ", ".join(
                f"{name} {value:.4f} (argmax {found['argmax_macro_f1'][name]:.4f}, "
                f"{found['pairs'][name]} pairs)"
                for name, value in found["macro_f1"].items()
            )
            + f"; mean by threshold {found['curve']}"
        )
    print(
        "in use: "
        + str(
            {
                kind.value: scorer.config.get(f"side_threshold_{kind.value}", default)
                for kind, default in SIDE_THRESHOLDS.items()
            }
        )
        + f"; marked targets: {marked}"
    )
    if args.write:
        path = args.model / CONFIG_FILE
        settings = json.loads(path.read_text())
        for kind, found in result.items():
            settings[f"side_threshold_{kind}"] = found["threshold"]
        path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        print(f"wrote the thresholds to {path}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

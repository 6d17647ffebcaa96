"""Evaluation of a stance model on each public data set in its own format, with per-item
predictions in the data set's own label values."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from pipeline.cleaning.text import split_text_sentences
from pipeline.kernels.attention import attention_of
from pipeline.kernels.precision import Attention, Precision, add_arithmetic_arguments
from pipeline.stance import StanceClassifier, StanceInput, StanceModelError, load_stance_classifier
from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL, three_way
from schemas import Entity, EntityType, Mention, StanceLabel
from training.stance_data import (
    FNC_LABELS,
    StanceDataError,
    StanceExample,
    f1_scores,
    macro_f1,
    read_fnc,
    read_pstance,
    read_semeval,
    score_predictions,
)
from training.stance_news_data import (
    DIRECTED_LABELS,
    EMERGENT_LABELS,
    GWSD_LABELS,
    NEWSMTSC_LABELS,
    PERSENT_LABELS,
    VAST_LABELS,
    PersentDocument,
    read_directed,
    read_emergent,
    read_gwsd,
    read_newsmtsc,
    read_persent,
    read_vast,
)

PAIR_FORMATS = (
    "fnc1",
    "semeval2016",
    "pstance",
    "newsmtsc",
    "directed",
    "gwsd",
    "vast",
    "emergent",
)
FORMATS = (*PAIR_FORMATS, "persent")
# Formats whose pairs are marked (their readers bracket the target): read without the
# unrelated output, which their data never taught (``pipeline.stance.labels.three_way``).
MARKED_FORMATS = ("newsmtsc",)
# The data set's own label for the shared favor / against / neutral, in the three-way formats.
THREE_WAY_NAMES: dict[str, tuple[str, str, str]] = {
    "newsmtsc": ("6.0", "2.0", "4.0"),
    "gwsd": ("agree", "disagree", "neutral"),
    "emergent": ("for", "against", "observing"),
    "vast": ("1", "0", "2"),
}
FORMAT_LABELS: dict[str, tuple[str, ...]] = {
    "newsmtsc": NEWSMTSC_LABELS,
    "directed": DIRECTED_LABELS,
    "gwsd": GWSD_LABELS,
    "emergent": EMERGENT_LABELS,
    "vast": VAST_LABELS,
    "persent": PERSENT_LABELS,
}
_PERSENT_NAMES = {
    StanceLabel.FAVOR: "Positive",
    StanceLabel.AGAINST: "Negative",
    StanceLabel.NEUTRAL: "Neutral",
}


def predict_labels(
    format_name: str, probabilities: torch.Tensor, unrelated_threshold: float
) -> list[str]:
    """Map shared-space probabilities to the data set's own label names, one per item
    (directed sentiment: one per row, from its two pairs)."""
    if format_name == "directed":
        return predict_directed(probabilities)
    predicted: list[str] = []
    for row in probabilities:
        favor, against, neutral, unrelated = (float(value) for value in row)
        if format_name in MARKED_FORMATS:
            values = three_way(row.tolist(), marked=True)
            predicted.append(THREE_WAY_NAMES[format_name][max(range(3), key=values.__getitem__)])
        elif format_name == "fnc1":
            if unrelated >= unrelated_threshold:
                predicted.append("unrelated")
            else:
                predicted.append(
                    FNC_LABELS[max(range(3), key=[favor, against, neutral].__getitem__)]
                )
        elif format_name == "semeval2016":
            scores = {"favor": favor, "against": against, "none": neutral + unrelated}
            predicted.append(max(scores, key=scores.__getitem__))
        elif format_name in THREE_WAY_NAMES:
            values = [favor, against, neutral + unrelated]
            predicted.append(THREE_WAY_NAMES[format_name][max(range(3), key=values.__getitem__)])
        elif format_name == "pstance":
            predicted.append("favor" if favor >= against else "against")
        else:
            raise StanceDataError(f"unknown format {format_name!r}; use one of {FORMATS}")
    return predicted


def predict_directed(probabilities: torch.Tensor) -> list[str]:
    """One directed-sentiment class per row from its two pairs (entity 1 as holder, then
    entity 2): the class whose reading of both directions is most probable, taking the two
    directions as independent (class 1 = 1 favors 2 and 2 is neutral toward 1, ...)."""
    if len(probabilities) % 2:
        raise StanceDataError("directed sentiment needs two pairs per row")
    predicted: list[str] = []
    for index in range(0, len(probabilities), 2):
        forward = three_way(probabilities[index].tolist(), marked=True)
        backward = three_way(probabilities[index + 1].tolist(), marked=True)
        scores = [
            forward[NEUTRAL] * backward[NEUTRAL],
            forward[FAVOR] * backward[NEUTRAL],
            backward[FAVOR] * forward[NEUTRAL],
            forward[AGAINST] * backward[NEUTRAL],
            backward[AGAINST] * forward[NEUTRAL],
        ]
        predicted.append(DIRECTED_LABELS[max(range(5), key=scores.__getitem__)])
    return predicted


def item_gold(format_name: str, examples: Sequence[StanceExample]) -> list[str]:
    """The gold label of each scored item (directed sentiment: of each row)."""
    if format_name == "directed":
        return [example.gold for example in examples[::2]]
    return [example.gold for example in examples]


def score_items(
    format_name: str, gold: Sequence[str], predicted: Sequence[str]
) -> dict[str, float]:
    """The figures a data set is judged by: macro-F1 over its own labels (NewsMTSC: and
    accuracy); FNC-1, SemEval-2016 and P-Stance as ``score_predictions`` says."""
    if format_name not in FORMAT_LABELS:
        return score_predictions(format_name, gold, predicted)
    labels = FORMAT_LABELS[format_name]
    scores = {"macro_f1": macro_f1(gold, predicted, labels)}
    if format_name == "newsmtsc":
        hits = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
        scores["accuracy"] = hits / len(gold) if gold else 0.0
    scores.update({f"f1_{k}": v for k, v in f1_scores(gold, predicted, labels).items()})
    return scores


def read_pairs(
    format_name: str,
    *,
    data: Path | None,
    stances: Path | None = None,
    bodies: Path | None = None,
    split: str | None = None,
) -> list[StanceExample]:
    """The (target, passage) pairs of one data set file, in its input order."""
    if format_name == "fnc1":
        if stances is None or bodies is None:
            raise StanceDataError("--format fnc1 needs --stances CSV and --bodies CSV")
        return read_fnc(stances, bodies)
    if data is None:
        raise StanceDataError(f"--format {format_name} needs --data")
    if format_name == "semeval2016":
        return read_semeval(data, split or "val")
    readers = {
        "pstance": read_pstance,
        "newsmtsc": read_newsmtsc,
        "directed": read_directed,
        "gwsd": read_gwsd,
        "vast": read_vast,
        "emergent": read_emergent,
    }
    if format_name not in readers:
        raise StanceDataError(f"unknown format {format_name!r}; use one of {', '.join(FORMATS)}")
    return readers[format_name](data)


def entity_mentions(text: str, name: str) -> list[Mention]:
    """Where a document names its main entity: the full name, or any capitalised word of it
    of three letters or more (a surname, "Trump" of "Donald Trump"), as whole words."""
    words = [word for word in re.findall(r"[A-Z][\w'\u2019-]{2,}", name) if not word.isupper()]
    alternatives = sorted({name, *words}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in alternatives) + r")\b")
    return [
        Mention(text=match.group(0), start=match.start(), end=match.end(), score=1.0)
        for match in pattern.finditer(text)
    ]


def classify_documents(
    classifier: StanceClassifier, documents: Sequence[PersentDocument]
) -> list[str]:
    """The article-level stance toward each document's main entity, as a PerSenT label;
    a document that never names its entity is ``Neutral``."""
    inputs: list[StanceInput] = []
    for document in documents:
        mentions = entity_mentions(document.text, document.entity)
        entities = (
            [
                Entity(
                    name=document.entity,
                    type=EntityType.PER,
                    count=len(mentions),
                    salience=1.0,
                    mentions=mentions,
                )
            ]
            if mentions
            else []
        )
        inputs.append(
            StanceInput(
                text=document.text,
                sentences=split_text_sentences(document.text),
                entities=entities,
                topics=[],
                top_k_entities=1,
            )
        )
    predicted: list[str] = []
    for stances in classifier.classify_articles(inputs):
        predicted.append(_PERSENT_NAMES[stances[0].label] if stances else "Neutral")
    return predicted


def evaluate_stance(
    format: str,
    *,
    stances: Path | None = None,
    bodies: Path | None = None,
    data: Path | None = None,
    split: str | None = None,
    model: str | Path | None = None,
    predictions: Path | None = None,
    backend: str = "crossencoder",
    precision: Precision = "fp32",
    attention: Attention = "blocked",
) -> dict[str, Any]:
    """Score a model on one data set file in its own format; optionally write per-item
    predictions (``index,gold,predicted`` in the data set's own label values)."""
    if format not in FORMATS:
        raise StanceDataError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    documents: list[PersentDocument] = []
    examples: list[StanceExample] = []
    if format == "persent":
        if data is None:
            raise StanceDataError("--format persent needs --data CSV")
        documents = read_persent(data)
    else:
        examples = read_pairs(format, data=data, stances=stances, bodies=bodies, split=split)
    classifier = load_stance_classifier(
        model,
        backend="nli" if backend == "nli" else "crossencoder",
        precision=precision,
        attention=attention,
    )
    scorer = classifier.scorer
    if format == "persent":
        gold = [document.gold for document in documents]
        predicted = classify_documents(classifier, documents)
    else:
        probabilities = scorer.score_pairs(
            [ex.target for ex in examples], [ex.passage for ex in examples]
        )
        threshold = float(getattr(scorer, "unrelated_threshold", 0.5))
        predicted = predict_labels(format, probabilities, threshold)
        gold = item_gold(format, examples)
    if predictions is not None:
        write_predictions(predictions, gold, predicted)
    scores: dict[str, Any] = dict(score_items(format, gold, predicted))
    scores.update(
        format=format,
        examples=len(gold),
        model=classifier.model_name,
        precision=precision,
        attention=attention_of(scorer.network),
    )
    return scores


def write_predictions(path: Path, gold: Sequence[str], predicted: Sequence[str]) -> None:
    """``index,gold,predicted``, one row per scored item in input order."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["index", "gold", "predicted"])
        writer.writerows(
            (index, g, p) for index, (g, p) in enumerate(zip(gold, predicted, strict=True))
        )


def print_scores(scores: dict[str, Any], *, as_json: bool) -> None:
    """One line per data set's scores, and with ``as_json`` a last line of JSON."""
    for name, value in scores.items():
        print(f"{name}: {value}")
    if as_json:
        print(json.dumps(scores, sort_keys=True))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.stance_eval", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate = commands.add_parser("eval", help="score a stance model on one data set file")
    evaluate.add_argument("--format", choices=FORMATS, required=True)
    evaluate.add_argument("--stances", type=Path, help="FNC-1/ARC stances CSV")
    evaluate.add_argument("--bodies", type=Path, help="FNC-1/ARC bodies CSV")
    evaluate.add_argument(
        "--data", type=Path, help="the data set file (SemEval-2016: its TweetEval folder)"
    )
    evaluate.add_argument("--split", choices=("train", "val", "test"), default="val")
    evaluate.add_argument("--model", default=None, help="model directory (default: shipped)")
    evaluate.add_argument("--backend", choices=("crossencoder", "nli"), default="crossencoder")
    evaluate.add_argument("--predictions", type=Path, help="write index,gold,predicted here")
    evaluate.add_argument("--json", action="store_true")
    add_arithmetic_arguments(evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``eval``; the last line is JSON with ``--json``."""
    arguments = _parser().parse_args(argv)
    try:
        scores = evaluate_stance(
            arguments.format,
            stances=arguments.stances,
            bodies=arguments.bodies,
            data=arguments.data,
            split=arguments.split,
            model=arguments.model,
            predictions=arguments.predictions,
            backend=arguments.backend,
            precision=arguments.precision,
            attention=arguments.attention,
        )
    except (StanceDataError, StanceModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_scores(scores, as_json=arguments.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

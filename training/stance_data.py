"""Readers and metrics for the public stance data sets, in their own file formats.

Shared label space
------------------
Every data set is mapped onto four training labels, so one cross-encoder learns from all:

======  =========  =============================================================
index   label      comes from
======  =========  =============================================================
0       favor      FNC-1/ARC ``agree``, SemEval ``favor``, P-Stance ``FAVOR``
1       against    FNC-1/ARC ``disagree``, SemEval ``against``, P-Stance ``AGAINST``
2       neutral    FNC-1/ARC ``discuss``, SemEval ``none``
3       unrelated  FNC-1/ARC ``unrelated``
======  =========  =============================================================

``unrelated`` keeps its own logit rather than being folded into ``neutral``: an FNC
``discuss`` body talks about the claim without taking a side, an ``unrelated`` body is
about something else, and merging them teaches the model that "about the target" and
"not about the target" look the same. On our FNC-1 dev split the separate logit is what
lets ``--format fnc1`` answer ``unrelated`` at all. At inference for articles the
``unrelated`` probability is added to ``neutral`` (the article does not take a side).

Metrics
-------
- FNC-1 relative score: the official weighted score (0.25 for the related/unrelated
  decision, 0.75 more for the right related class) divided by the best possible score.
- macro-F1 over a given label set.
- SemEval-2016 F_avg: the mean of the favor and against F1, counted over all targets.
- P-Stance macro-F1: macro-F1 over favor and against.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.cleaning.text import split_text_sentences
from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL, UNRELATED, content_words

FNC_LABELS: tuple[str, ...] = ("agree", "disagree", "discuss", "unrelated")
SEMEVAL_LABELS: tuple[str, ...] = ("favor", "against", "none")
PSTANCE_LABELS: tuple[str, ...] = ("favor", "against")

_FNC_TO_SHARED = {"agree": FAVOR, "disagree": AGAINST, "discuss": NEUTRAL, "unrelated": UNRELATED}
_SEMEVAL_TO_SHARED = {"favor": FAVOR, "against": AGAINST, "none": NEUTRAL}
_PSTANCE_TO_SHARED = {"favor": FAVOR, "against": AGAINST}

# The TweetEval layout names each target by folder only; these are the SemEval-2016 targets.
SEMEVAL_TARGETS: dict[str, str] = {
    "abortion": "Legalization of Abortion",
    "atheism": "Atheism",
    "climate": "Climate Change is a Real Concern",
    "feminist": "Feminist Movement",
    "hillary": "Hillary Clinton",
    "hilary": "Hillary Clinton",
}

FNC_EVIDENCE_SENTENCES = 3


class StanceDataError(ValueError):
    """A stance data file is missing, malformed or carries a label we do not know."""


@dataclass(frozen=True)
class StanceExample:
    """One (target, passage) pair with its gold label in the shared and the original space."""

    target: str
    passage: str
    label: int
    gold: str
    source: str
    group: str


def select_evidence(claim: str, body: str, count: int = FNC_EVIDENCE_SENTENCES) -> str:
    """Keep the ``count`` body sentences sharing most words with ``claim``, in body order.

    A CPU-sized cross-encoder sees 128 tokens; the sentences that share words with the
    claim are the ones that agree, deny or discuss it.
    """
    claim_words = content_words(claim)
    sentences = [body[start:end] for start, end in split_text_sentences(body)]
    ranked = sorted(
        range(len(sentences)),
        key=lambda index: (-len(claim_words & content_words(sentences[index])), index),
    )
    return " ".join(sentences[index] for index in sorted(ranked[:count]))


def is_dev_group(group: str, dev_share: int = 10) -> bool:
    """Put one group (a headline or claim) in dev when its hash falls in the dev share (%)."""
    digest = hashlib.sha256(group.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < dev_share


def _open_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError as error:
        raise StanceDataError(f"{path}: no such file; check the path") from error


def read_fnc(stances: Path, bodies: Path, *, source: str = "fnc1") -> list[StanceExample]:
    """Read FNC-1 (or ARC, the same format): one example per stance row, in file order."""
    body_rows = _open_csv(bodies)
    try:
        texts = {row["Body ID"].strip(): row["articleBody"] for row in body_rows}
    except KeyError as error:
        raise StanceDataError(f"{bodies}: needs columns 'Body ID' and 'articleBody'") from error
    examples: list[StanceExample] = []
    for number, row in enumerate(_open_csv(stances), start=2):
        try:
            headline, body_id, stance = row["Headline"], row["Body ID"].strip(), row["Stance"]
        except KeyError as error:
            raise StanceDataError(
                f"{stances}: needs columns 'Headline', 'Body ID' and 'Stance'"
            ) from error
        label = _FNC_TO_SHARED.get(stance.strip().lower())
        if label is None:
            raise StanceDataError(f"{stances}:{number}: unknown stance {stance!r}")
        if body_id not in texts:
            raise StanceDataError(f"{stances}:{number}: body {body_id} not in {bodies}")
        examples.append(
            StanceExample(
                target=headline.strip(),
                passage=select_evidence(headline, texts[body_id]),
                label=label,
                gold=stance.strip().lower(),
                source=source,
                group=headline.strip().lower(),
            )
        )
    return examples


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as error:
        raise StanceDataError(f"{path}: no such file; check the TweetEval layout") from error


def read_semeval(data: Path, split: str) -> list[StanceExample]:
    """Read the TweetEval layout: one folder per target with ``<split>_text/labels.txt``."""
    mapping_path = data / "mapping.txt"
    mapping = {"0": "none", "1": "against", "2": "favor"}
    if mapping_path.exists():
        mapping = dict(line.split("\t", 1) for line in _read_lines(mapping_path) if "\t" in line)
    folders = sorted(path for path in data.iterdir() if (path / f"{split}_text.txt").exists())
    if not folders:
        raise StanceDataError(f"{data}: no '<target>/{split}_text.txt' files")
    examples: list[StanceExample] = []
    for folder in folders:
        target = SEMEVAL_TARGETS.get(folder.name, folder.name.replace("_", " "))
        texts = _read_lines(folder / f"{split}_text.txt")
        labels = _read_lines(folder / f"{split}_labels.txt")
        if len(texts) != len(labels):
            raise StanceDataError(f"{folder}: {len(texts)} texts but {len(labels)} labels")
        for text, label_id in zip(texts, labels, strict=True):
            gold = mapping.get(label_id.strip(), "").strip().lower()
            if gold not in _SEMEVAL_TO_SHARED:
                raise StanceDataError(f"{folder}: unknown label id {label_id!r}")
            examples.append(
                StanceExample(
                    target, text.strip(), _SEMEVAL_TO_SHARED[gold], gold, "semeval2016", target
                )
            )
    return examples


def read_pstance(path: Path) -> list[StanceExample]:
    """Read one P-Stance CSV (``Tweet,Target,Stance``), in file order."""
    examples: list[StanceExample] = []
    for number, row in enumerate(_open_csv(path), start=2):
        try:
            tweet, target, stance = row["Tweet"], row["Target"], row["Stance"]
        except KeyError as error:
            raise StanceDataError(
                f"{path}: needs columns 'Tweet', 'Target' and 'Stance'"
            ) from error
        gold = stance.strip().lower()
        if gold not in _PSTANCE_TO_SHARED:
            raise StanceDataError(f"{path}:{number}: unknown stance {stance!r}")
        examples.append(
            StanceExample(
                target.strip(), tweet.strip(), _PSTANCE_TO_SHARED[gold], gold, "pstance", target
            )
        )
    return examples


def f1_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """Per-label F1 (0.0 where a label is neither predicted nor gold)."""
    scores: dict[str, float] = {}
    for label in labels:
        hits = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        predicted_count = sum(1 for p in predicted if p == label)
        gold_count = sum(1 for g in gold if g == label)
        total = predicted_count + gold_count
        scores[label] = 2.0 * hits / total if total else 0.0
    return scores


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of the per-label F1."""
    scores = f1_scores(gold, predicted, labels)
    return sum(scores.values()) / len(labels)


def fnc_relative_score(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The official FNC-1 weighted score divided by the score of a perfect prediction."""
    score = 0.0
    best = 0.0
    for g, p in zip(gold, predicted, strict=True):
        best += 0.25 if g == "unrelated" else 1.0
        if g == p:
            score += 0.25 if g == "unrelated" else 0.75
        if g != "unrelated" and p != "unrelated":
            score += 0.25
    return score / best if best else 0.0


def semeval_f_avg(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """SemEval-2016 Task 6 F_avg: mean of favor and against F1, pooled over targets."""
    scores = f1_scores(gold, predicted, ("favor", "against"))
    return (scores["favor"] + scores["against"]) / 2.0


def score_predictions(
    format_name: str, gold: Sequence[str], predicted: Sequence[str]
) -> dict[str, float]:
    """The figures each data set is judged by, from labels in its own names."""
    if format_name == "fnc1":
        return {
            "fnc_relative_score": fnc_relative_score(gold, predicted),
            "macro_f1": macro_f1(gold, predicted, FNC_LABELS),
            **{f"f1_{k}": v for k, v in f1_scores(gold, predicted, FNC_LABELS).items()},
        }
    if format_name == "semeval2016":
        return {
            "f_avg": semeval_f_avg(gold, predicted),
            "macro_f1": macro_f1(gold, predicted, SEMEVAL_LABELS),
        }
    if format_name == "pstance":
        return {"macro_f1": macro_f1(gold, predicted, PSTANCE_LABELS)}
    raise StanceDataError(f"unknown format {format_name!r}; use fnc1, semeval2016 or pstance")

"""Scores for the cleaning stage: extraction against reference text, and line classification."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def shingle_counts(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    """Counts of the word 4-grams of a text (a shorter text is one shingle)."""
    tokens = _TOKEN.findall(text)
    last = max(1, len(tokens) - size + 1)
    return Counter(tuple(tokens[i : i + size]) for i in range(last) if tokens[i : i + size])


def page_overlap(reference: str, extracted: str) -> tuple[float, float, float]:
    """True-positive, false-positive and false-negative shares of one page's shingles.

    This is the ScrapingHub article-extraction benchmark's measure: shingles compared as
    multisets, and the three counts scaled to sum to one so each page weighs the same.
    """
    truth, guess = shingle_counts(reference), shingle_counts(extracted)
    tp = sum((truth & guess).values())
    fp = sum((guess - truth).values())
    fn = sum((truth - guess).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def extraction_scores(pages: Sequence[tuple[float, float, float]]) -> Scores:
    """Mean per-page precision and recall, and the F1 of those two means (the benchmark's way)."""
    precisions = [_ratio(tp, fp, fn, tp + fp) for tp, fp, fn in pages if tp + fp > 0]
    recalls = [_ratio(tp, fp, fn, tp + fn) for tp, fp, fn in pages if tp + fn > 0]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)


def _ratio(tp: float, fp: float, fn: float, denominator: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0  # a perfect page, including two empty texts
    return tp / denominator if denominator else 0.0


def line_scores(truth: Sequence[bool], predicted: Sequence[bool]) -> Scores:
    """Precision, recall and F1 of predicting which lines are boilerplate (True)."""
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)

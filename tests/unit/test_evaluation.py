"""The cleaning scores behave as the benchmarks define them."""

from __future__ import annotations

import pytest

from training.evaluation import extraction_scores, line_scores, page_overlap

REFERENCE = "one two three four five six seven eight nine ten"


def test_perfect_extraction_scores_one() -> None:
    scores = extraction_scores([page_overlap(REFERENCE, REFERENCE)])
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)


def test_extra_text_costs_precision_and_missing_text_costs_recall() -> None:
    noisy = extraction_scores([page_overlap(REFERENCE, REFERENCE + " buy now click here today")])
    short = extraction_scores([page_overlap(REFERENCE, "one two three four five six")])
    assert noisy.recall == 1.0 and noisy.precision < 0.7
    assert short.precision == 1.0 and short.recall == pytest.approx(3 / 7)


def test_pages_weigh_the_same_whatever_their_length() -> None:
    long_page = " ".join(f"w{i}" for i in range(1000))
    pages = [page_overlap(long_page, long_page), page_overlap(REFERENCE, "")]
    scores = extraction_scores(pages)
    assert scores.recall == pytest.approx(0.5)
    assert scores.precision == 1.0  # the empty extraction has no precision to average


def test_line_scores_count_boilerplate_as_the_positive_class() -> None:
    truth = [True, True, False, False]
    predicted = [True, False, True, False]
    scores = line_scores(truth, predicted)
    assert (scores.precision, scores.recall) == (0.5, 0.5)

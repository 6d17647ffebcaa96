"""The soak harness judges memory growth and latency the way its report says."""

from __future__ import annotations

import pytest

from benchmarks.soak import Sample, SoakError, SoakReport, p99, rss_growth, soak_articles


def samples(rss: list[float]) -> list[Sample]:
    return [Sample(float(i), mb, 0, 0, 0.0, None) for i, mb in enumerate(rss)]


def test_growth_compares_the_last_quarter_with_the_second() -> None:
    # The first quarter is warm-up and does not count, however low it starts.
    flat = samples([100, 150, 200, 200, 201, 199, 202, 200])
    assert rss_growth(flat) == pytest.approx(201 / 200 - 1)
    leaking = samples([100, 150, 200, 210, 220, 230, 240, 250])
    assert rss_growth(leaking) == pytest.approx(245 / 205 - 1)
    assert rss_growth(leaking) > 0.10


def test_a_leak_fails_the_report_and_so_does_a_lost_article() -> None:
    report = SoakReport(plan={"max_growth": 0.10}, rss_growth=0.12)
    assert not report.passed
    report.rss_growth = 0.05
    assert report.passed
    report.lost = 1
    assert not report.passed


def test_too_few_samples_is_an_error_that_names_the_fix() -> None:
    with pytest.raises(SoakError, match="--interval"):
        rss_growth(samples([100, 100, 100]))


def test_p99_is_the_nearest_rank() -> None:
    assert p99([]) is None
    assert p99([float(v) for v in range(1, 101)]) == 99.0
    assert p99([5.0]) == 5.0


def test_each_pass_over_the_corpus_is_a_source_of_its_own() -> None:
    corpus = [{"title": "A", "body": "a", "source": "wire.example"}, {"title": "B", "body": "b"}]
    made = list(soak_articles(corpus, 5, "run"))
    assert [a["id"] for a in made] == [f"soak-run-{n:07d}" for n in range(5)]
    assert [a["source"] for a in made] == [
        "wire.example~0",
        "soak~0",
        "wire.example~1",
        "soak~1",
        "wire.example~2",
    ]
    assert corpus[0]["source"] == "wire.example"  # the corpus itself is left alone

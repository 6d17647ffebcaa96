"""The benchmark reports each alternated contender by its median run."""

from __future__ import annotations

from benchmarks.bench import Run, median_run


def _run(rate: float) -> Run:
    return Run(articles=100, seconds=100 / rate, latencies_ms=[1.0], cpu_seconds=1.0, peak_rss_mb=1)


def test_the_median_run_is_the_middle_rate_and_the_lower_middle_of_an_even_count() -> None:
    runs = [_run(11.0), _run(9.5), _run(12.0)]
    assert median_run(runs) is runs[0]
    four = [_run(12.0), _run(9.0), _run(10.0), _run(11.0)]
    assert median_run(four) is four[2]
    assert median_run([runs[1]]) is runs[1]

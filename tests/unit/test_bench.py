"""The benchmark reports each alternated contender by its median run, and says how far it is."""

from __future__ import annotations

import io

from benchmarks.bench import Progress, Run, median_run


def _run(rate: float) -> Run:
    return Run(articles=100, seconds=100 / rate, latencies_ms=[1.0], cpu_seconds=1.0, peak_rss_mb=1)


def test_the_median_run_is_the_middle_rate_and_the_lower_middle_of_an_even_count() -> None:
    runs = [_run(11.0), _run(9.5), _run(12.0)]
    assert median_run(runs) is runs[0]
    four = [_run(12.0), _run(9.0), _run(10.0), _run(11.0)]
    assert median_run(four) is four[2]
    assert median_run([runs[1]]) is runs[1]


def test_progress_says_when_each_contender_starts_and_what_it_reached() -> None:
    now = [1000.0]
    out = io.StringIO()
    progress = Progress(out, clock=lambda: now[0])

    def measure(rate: float, *, minutes: float) -> Run:
        now[0] += minutes * 60
        return _run(rate)

    run = progress.contender("fp32", measure, 12.5, minutes=2.5)
    assert run.articles_per_s == 12.5
    started, finished = out.getvalue().splitlines()
    assert started == "bench [00:00] fp32: started"
    assert finished == "bench [02:30] fp32: 12.5 articles/s (100 articles in 8.0 s)"

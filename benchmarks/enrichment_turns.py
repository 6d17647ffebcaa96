"""Enrichers taking turns on the same articles in process: the harness of the benchmarks
that compare two ways of running the models (attention_bench, compile_bench)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pipeline.enrichment import Enricher, Received
from pipeline.inputs import iter_paths, read_articles

BATCH = 16  # the worker's micro-batch


def article_batches(folder: Path, limit: int, size: int = BATCH) -> list[list[Received]]:
    """The first ``limit`` articles under ``folder``, as the worker receives them, in
    micro-batches of ``size``."""
    articles = [
        article
        for path in iter_paths([folder])
        for article in read_articles(path)
        if isinstance(article, dict)
    ][:limit]
    if not articles:
        raise SystemExit(f"no articles under {folder}")
    return [
        [Received(payload=orjson.dumps(article)) for article in articles[first : first + size]]
        for first in range(0, len(articles), size)
    ]


@dataclass
class Turns:
    """Per enricher: each timed round's articles/s and model CPU ms per article, the real
    tokens per article, the wall seconds of the warm-up round, and the last round's output."""

    rates: dict[str, list[float]] = field(default_factory=dict)
    model_ms: dict[str, list[float]] = field(default_factory=dict)
    tokens_per_article: dict[str, float] = field(default_factory=dict)
    first_pass_s: dict[str, float] = field(default_factory=dict)
    events: dict[str, list[Any]] = field(default_factory=dict)


def enrich_in_turns(
    enrichers: dict[str, Enricher], batches: list[list[Received]], repeats: int, *, abba: bool
) -> Turns:
    """Round 0 warms up, then ``repeats`` timed rounds; in each round every enricher
    enriches all batches. With ``abba`` the order flips every round, so a slow spell of
    the machine hits each alike."""
    articles = sum(len(batch) for batch in batches)
    turns = Turns()
    spent: list[tuple[float, int]] = []  # (model CPU seconds, real tokens) per model batch
    for kind, enricher in enrichers.items():
        enricher.on_model_batch = lambda _name, _n, _wall, cpu, tokens: spent.append((cpu, tokens))
        turns.rates[kind], turns.model_ms[kind] = [], []
    for round_number in range(repeats + 1):
        order = list(enrichers)
        if abba and not round_number % 2:
            order.reverse()
        for kind in order:
            spent.clear()
            started = time.perf_counter()
            turns.events[kind] = [
                event for batch in batches for event in enrichers[kind].enrich_batch(batch)
            ]
            seconds = time.perf_counter() - started
            if not round_number:
                turns.first_pass_s[kind] = seconds
                continue
            turns.rates[kind].append(articles / seconds)
            turns.model_ms[kind].append(sum(cpu for cpu, _ in spent) * 1000 / articles)
            turns.tokens_per_article[kind] = sum(count for _, count in spent) / articles
    return turns


def print_differences(first: list[Any], second: list[Any]) -> None:
    """How many stance labels and entity lists differ between two runs' events."""
    labels = [
        (a.label, b.label)
        for x, y in zip(first, second, strict=True)
        for a, b in zip(x.stances, y.stances, strict=True)
    ]
    spans = [
        (entity_spans(x.entities), entity_spans(y.entities))
        for x, y in zip(first, second, strict=True)
    ]
    print(
        f"stance labels differing: {sum(a != b for a, b in labels)} of {len(labels)}; "
        f"articles whose entity mentions differ: {sum(a != b for a, b in spans)}"
    )


def entity_spans(entities: list[Any]) -> list[tuple[str, str, int, int]]:
    """What a reader sees of the entities: types and mention offsets (scores left out)."""
    return [(e.name, e.type, m.start, m.end) for e in entities for m in e.mentions]

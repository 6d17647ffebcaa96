"""Whole in-process enrichment with two stance models taking turns on the same articles.

Usage (from the repository root):
    python -m benchmarks.model_turns ARTICLES --baseline DIR [--candidate DIR] [--limit 64]
        [--repeats 3]

Two enrichers are built from the worker's settings, one with the stance model in
``--baseline`` and one with ``--candidate`` (default: the shipped model). They enrich the
same articles in micro-batches of 16, taking turns (ABBA); round 0 warms up. For each:
median articles/s, model CPU ms per article and real tokens per article; then the
candidate's speed as a ratio of the baseline's, and how many stance labels differ. Used to
check that a new stance model keeps the worker's speed (the stance model pairs and marks
its evidence its own way, so the tokens it runs change with it).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from agents.bootstrap import build_enricher
from agents.settings import Settings
from benchmarks.enrichment_turns import article_batches, enrich_in_turns, print_differences
from pipeline.stance import SHIPPED_MODEL_DIR


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles", type=Path, help="folder of .txt/.json articles")
    parser.add_argument("--baseline", type=Path, required=True, help="stance model directory")
    parser.add_argument("--candidate", type=Path, default=SHIPPED_MODEL_DIR)
    parser.add_argument("--limit", type=int, default=64, help="articles to enrich")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds")
    args = parser.parse_args()
    batches = article_batches(args.articles, args.limit)
    articles = sum(len(batch) for batch in batches)
    models = {"baseline": args.baseline, "candidate": args.candidate}
    enrichers = {
        kind: build_enricher(Settings(stance_model=str(path))) for kind, path in models.items()
    }
    turns = enrich_in_turns(enrichers, batches, args.repeats, abba=True)
    print(f"{articles} articles, {args.repeats} rounds, torch threads {torch.get_num_threads()}")
    for kind, path in models.items():
        print(
            f"{kind:9s} {statistics.median(turns.rates[kind]):6.2f} articles/s, model CPU "
            f"{statistics.median(turns.model_ms[kind]):6.1f} ms per article "
            f"({turns.tokens_per_article[kind]:.0f} real tokens): {path}"
        )
    ratio = statistics.median(turns.rates["candidate"]) / statistics.median(turns.rates["baseline"])
    print(f"candidate: {ratio:.2f}x the baseline's articles/s")
    print_differences(turns.events["baseline"], turns.events["candidate"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

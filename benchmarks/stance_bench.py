"""Stance throughput: (target, passage) pairs per second and cost per article as targets grow.

Usage: python -m benchmarks.stance_bench BODIES [--articles 16] [--repeats 3] [--model DIR]
       [--device cpu|cuda] [--precision fp32|bf16|int8] [--compile]

BODIES is an FNC-1-format bodies CSV (``Body ID,articleBody``, e.g. the shared
``stance/fnc1/train_bodies.csv``) or a plain-text file with articles separated by blank
lines. Targets are the article's most frequent capitalised words, each made an entity
with all its mentions, so every target has evidence and the cost is the real one.
``--compile`` runs the network through ``torch.compile`` (dynamic shapes) and prints how
long the first batch took with the compiling; the worker does not compile (README).
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import cast

import torch

from pipeline.cleaning.text import split_text_sentences
from pipeline.kernels.precision import PRECISIONS
from pipeline.stance import (
    CrossEncoderScorer,
    StanceClassifier,
    StanceInput,
    StanceNetwork,
    load_stance_classifier,
)
from schemas import Entity, EntityType, Mention

TARGET_COUNTS = (1, 4, 8, 16)
_NAME = re.compile(r"\b[A-Z][a-z]{3,}\b")


def read_articles(path: Path, count: int) -> list[str]:
    """The first ``count`` articles of at least 1,500 characters (news-length)."""
    if path.suffix == ".csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8", newline="") as handle:
            texts = [row["articleBody"] for row in csv.DictReader(handle)]
    else:
        texts = path.read_text(encoding="utf-8").split("\n\n\n")
    return [text for text in texts if len(text) >= 1500][:count]


def build_input(text: str, targets: int) -> StanceInput:
    """An article whose ``targets`` most frequent capitalised words are its entities."""
    words = Counter(_NAME.findall(text)).most_common(targets)
    entities = []
    for rank, (word, count) in enumerate(words):
        mentions = [
            Mention(text=word, start=match.start(), end=match.end(), score=1.0)
            for match in re.finditer(rf"\b{word}\b", text)
        ]
        salience = 1.0 - rank / (targets + 1)
        entities.append(
            Entity(
                name=word, type=EntityType.ORG, count=count, salience=salience, mentions=mentions
            )
        )
    return StanceInput(text, split_text_sentences(text), entities, [], targets)


def measure(
    classifier: StanceClassifier, articles: list[str], targets: int, repeats: int
) -> dict[str, float]:
    """Median seconds of one micro-batch over ``repeats`` runs, after one warm-up."""
    inputs = [build_input(text, targets) for text in articles]
    pairs = sum(
        len(stance.evidence) for result in classifier.classify_articles(inputs) for stance in result
    )
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        classifier.classify_articles(inputs)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return {
        "targets": targets,
        "pairs": pairs,
        "pairs_per_s": pairs / median,
        "ms_per_article": 1000 * median / len(articles),
    }


def main() -> int:
    """Print one line per target count, then a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="bodies CSV or plain-text articles")
    parser.add_argument("--articles", type=int, default=16, help="articles per micro-batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None, help="model directory (default: shipped)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    articles = read_articles(arguments.data, arguments.articles)
    classifier = load_stance_classifier(
        arguments.model, device=arguments.device, precision=arguments.precision
    )
    if arguments.compile:
        scorer = cast(CrossEncoderScorer, classifier.scorer)
        scorer.network = cast(StanceNetwork, torch.compile(scorer.network, dynamic=True))
        started = time.perf_counter()
        classifier.classify_articles([build_input(text, TARGET_COUNTS[-1]) for text in articles])
        print(f"first batch, compiling included: {time.perf_counter() - started:.1f} s")
    print(
        f"{len(articles)} articles, {arguments.device} {arguments.precision}"
        f"{' compiled' if arguments.compile else ''}, "
        f"{arguments.threads} thread(s), median of {arguments.repeats}"
    )
    print(f"{'targets':>8} {'pairs':>7} {'pairs/s':>9} {'ms/article':>11}")
    for targets in TARGET_COUNTS:
        row = measure(classifier, articles, targets, arguments.repeats)
        print(
            f"{row['targets']:>8.0f} {row['pairs']:>7.0f} {row['pairs_per_s']:>9.1f}"
            f" {row['ms_per_article']:>11.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

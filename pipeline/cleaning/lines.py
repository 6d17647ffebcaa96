"""The text line classifier: story or page furniture for every line, decoded as a sequence.

Two stages of boosted trees read the line features: the first scores each line on its own
shape and neighbours, the second rereads every line with the first stage's scores around
it (the story is one contiguous run). A two-state Viterbi decode over the second stage's
probabilities then keeps runs together. The trees are plain arrays stored as JSON
(``pipeline/models/cleaning/lines.json``), written by ``stancewire train cleaning``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pipeline.cleaning.features import FEATURES, window_mean

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "cleaning" / "lines.json"
STAGE_FEATURES = (
    "score",
    "score_near",
    "score_window",
    "score_wide",
    "in_score_run",
    "score_run_distance",
    "page_story_share",
    "prev_score",
    "next_score",
)
FORMAT = "stancewire-line-classifier/1"

Floats = npt.NDArray[np.float64]


class ModelFileError(ValueError):
    """The line classifier's file is missing, of another format, or inconsistent."""


@dataclass(frozen=True)
class Trees:
    """An additive forest: every tree's nodes side by side in flat arrays.

    Node ``i`` splits on ``feature[i] <= threshold[i]`` (left) or else right; a leaf has
    ``left[i] == -1`` and holds ``value[i]``. ``roots`` index each tree's first node.
    """

    feature: npt.NDArray[np.int64]
    threshold: Floats
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    value: Floats
    roots: npt.NDArray[np.int64]
    baseline: float
    depth: int

    def logits(self, matrix: Floats) -> Floats:
        """The forest's raw score (log-odds of story) for each row of ``matrix``."""
        rows = np.arange(len(matrix))[:, None]
        node = np.broadcast_to(self.roots, (len(matrix), len(self.roots))).copy()
        for _ in range(self.depth):
            leaf = self.left[node] < 0
            if leaf.all():
                break
            goes_left = matrix[rows, self.feature[node]] <= self.threshold[node]
            step = np.where(goes_left, self.left[node], self.right[node])
            node = np.where(leaf, node, step)
        result: Floats = self.baseline + self.value[node].sum(axis=1)
        return result

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trees:
        return cls(
            feature=np.asarray(data["feature"], dtype=np.int64),
            threshold=np.asarray(data["threshold"], dtype=np.float64),
            left=np.asarray(data["left"], dtype=np.int64),
            right=np.asarray(data["right"], dtype=np.int64),
            value=np.asarray(data["value"], dtype=np.float64),
            roots=np.asarray(data["roots"], dtype=np.int64),
            baseline=float(data["baseline"]),
            depth=int(data["depth"]),
        )


@dataclass(frozen=True)
class LineModel:
    """The two stages and the decode: ``story_probabilities`` then ``decode``."""

    first: Trees
    second: Trees
    transitions: Floats  # log P(next state | state), states (furniture, story)
    prior: Floats  # share of furniture and story lines in training
    metadata: dict[str, Any]

    def story_probabilities(self, features: Floats, words: Floats) -> Floats:
        """P(story) for each line, after the second stage has read the first's scores."""
        if len(features) == 0:
            return np.zeros(0)
        first = _sigmoid(self.first.logits(features))
        stacked = np.hstack([features, stage_features(first, words)])
        return _sigmoid(self.second.logits(stacked))

    def decode(self, probabilities: Floats) -> list[bool]:
        """The most likely story/furniture sequence given the line probabilities."""
        if len(probabilities) == 0:
            return []
        clipped = probabilities.clip(1e-6, 1 - 1e-6)
        emission = np.log(np.stack([1 - clipped, clipped], axis=1)) - np.log(self.prior)
        score = emission[0].copy()
        back = np.zeros((len(clipped), 2), dtype=np.int64)
        for i in range(1, len(clipped)):
            candidates = score[:, None] + self.transitions
            back[i] = candidates.argmax(axis=0)
            score = candidates.max(axis=0) + emission[i]
        state = int(score.argmax())
        states = [state]
        for i in range(len(clipped) - 1, 0, -1):
            state = int(back[i, state])
            states.append(state)
        return [s == 1 for s in reversed(states)]


def stage_features(scores: Floats, words: Floats) -> Floats:
    """What the second stage adds to each line: the first stage's scores around it."""
    n = len(scores)
    gain = (scores - 0.5) * np.log1p(words)
    best = total = 0.0
    start, span = 0, (0, 0)
    for i, value in enumerate(gain):
        if total <= 0:
            total, start = 0.0, i
        total += float(value)
        if total > best:
            best, span = total, (start, i + 1)
    positions = np.arange(n)
    outside = np.maximum(span[0] - positions, positions - (span[1] - 1)).clip(min=0)
    return np.stack(
        [
            scores,
            window_mean(scores, 1),
            window_mean(scores, 3),
            window_mean(scores, 8),
            ((positions >= span[0]) & (positions < span[1])).astype(np.float64),
            np.minimum(1.0, np.log1p(outside) / 4),
            np.full(n, float((scores > 0.5).mean())),
            np.concatenate(([0.0], scores[:-1])),
            np.concatenate((scores[1:], [0.0])),
        ],
        axis=1,
    )


def _sigmoid(values: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-values))
    return result


def load_line_model(path: Path = DEFAULT_MODEL) -> LineModel:
    """Read a classifier file written by ``stancewire train cleaning``."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ModelFileError(
            f"cannot read the line classifier {path}: {exc}; "
            "rebuild it with `stancewire train cleaning --data DIR`"
        ) from exc
    if data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a {FORMAT} file (format {data.get('format')!r})")
    if tuple(data["features"]) != FEATURES or tuple(data["stage_features"]) != STAGE_FEATURES:
        raise ModelFileError(
            f"{path} was trained on other line features than this code computes; retrain it"
        )
    prior = np.asarray(data["prior"], dtype=np.float64)
    if prior.shape != (2,) or not math.isclose(float(prior.sum()), 1.0, abs_tol=1e-6):
        raise ModelFileError(f"{path} has no valid two-state prior")
    return LineModel(
        first=Trees.from_json(data["first"]),
        second=Trees.from_json(data["second"]),
        transitions=np.asarray(data["transitions"], dtype=np.float64),
        prior=prior,
        metadata=dict(data.get("metadata", {})),
    )

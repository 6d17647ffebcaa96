"""Training and cross-validation of the text line classifier on rendered real pages.

    stancewire train cleaning --data ../shared/data/extraction/scrapinghub \
        [--out pipeline/models/cleaning/lines.json]

Each ScrapingHub page is rendered to the text a crawler copies and its lines are labelled
against the ground-truth body (``training.cleaning_pages``). Every page is learned three
ways: as rendered, without the headline's echo on the page (text that arrives without
one), and as its story lines alone (a body that is already clean). With ``--stories``
(the BBC folder), every fifth story by sorted path is also learned twice: set in a page's
frame of real furniture in place of that page's story, and bare, with a few of that
page's real furniture lines among its paragraphs. The evaluations skip those stories
(``held_out_stories``). Folds group pages by site, so no site is in both training and
scoring.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from pipeline.cleaning.features import FEATURES, beside_rule_hits, line_features, word_count
from pipeline.cleaning.lines import (
    DEFAULT_MODEL,
    FORMAT,
    STAGE_FEATURES,
    LineModel,
    Trees,
    stage_features,
)
from pipeline.cleaning.rules import boilerplate_reason
from pipeline.cleaning.text import normalize_text
from training.cleaning_pages import LabelledPage, read_pages

Floats = npt.NDArray[np.float64]
FOLDS = 5
INNER_FOLDS = 3  # for the second stage's out-of-fold first-stage scores
TREES = 150
LEAVES = 15
LEARNING_RATE = 0.1
# The decode's transitions are the training bigrams' log-probabilities times this weight,
# chosen under cross-validation (0.5 against 1.0: F1 0.930 against 0.926).
TRANSITION_WEIGHT = 0.5
STORY_SHARE = 5  # every fifth story trains; the other four are held out for evaluation
STORIES_PER_PAGE = 3
_SHORT_FURNITURE = 15  # words: the furniture lines that get mixed into stories


@dataclass(frozen=True)
class Example:
    """One rendering of one page: its line features, labels and word counts."""

    features: Floats
    labels: npt.NDArray[np.bool_]
    words: Floats


def page_example(lines: Sequence[str], labels: Sequence[bool], title: str) -> Example:
    """The features of a page's body lines, as the cleaner computes them at run time.

    As in ``clean_text``, lines a phrase rule removes are not classified; their
    neighbours carry the verdict as the ``rule`` feature.
    """
    hits = [boilerplate_reason(ln) is not None for ln in lines]
    rest, beside = beside_rule_hits(hits)
    kept = [lines[i] for i in rest]
    return Example(
        features=line_features(kept, title=title, rule_hits=beside),
        labels=np.asarray([labels[i] for i in rest], dtype=bool),
        words=np.asarray([word_count(line) for line in kept], dtype=np.float64),
    )


def page_renderings(page: LabelledPage) -> list[Example]:
    """The three ways a page is learned: as rendered, without the headline echo, story only."""
    if not page.lines:
        return []
    title, lines, labels = page.lines[0], page.lines[1:], page.labels[1:]
    folded = title.casefold()
    unechoed = [
        (line, y) for line, y in zip(lines, labels, strict=True) if line.casefold() != folded
    ]
    story = [line for line, y in unechoed if y]
    renderings = [page_example(lines, labels, title)]
    if unechoed:
        renderings.append(page_example([ln for ln, _ in unechoed], [y for _, y in unechoed], title))
    if story:
        renderings.append(page_example(story, [True] * len(story), title))
    return renderings


Story = tuple[str, list[str]]


def story_paths(folder: Path) -> list[Path]:
    """The stories of a folder of .txt articles (first line the title), in sorted order."""
    return [p for p in sorted(folder.rglob("*.txt")) if p.name.upper() != "README.TXT"]


def held_out_stories(paths: Sequence[Path]) -> list[Path]:
    """The stories training never reads: all but every fifth in sorted order."""
    return [p for i, p in enumerate(paths) if i % STORY_SHARE != 0]


def read_training_stories(folder: Path) -> list[Story]:
    """Every fifth story of ``folder``: its title and paragraphs."""
    stories = []
    for i, path in enumerate(story_paths(folder)):
        if i % STORY_SHARE == 0:
            title, _, body = path.read_bytes().decode("utf-8", "replace").strip().partition("\n")
            paragraphs = [line for line in normalize_text(body).split("\n") if line]
            if paragraphs:
                stories.append((normalize_text(title).strip(), paragraphs))
    return stories


def _sprinkled(
    paragraphs: list[str], furniture: list[str], rng: random.Random
) -> tuple[list[str], list[bool]]:
    lines = [(p, True) for p in paragraphs]
    for _ in range(rng.randint(1, 8)):
        where = rng.choice(("start", "end", "inside", "inside"))
        position = {"start": 0, "end": len(lines)}.get(where, rng.randint(0, len(lines)))
        lines.insert(position, (rng.choice(furniture), False))
    return [line for line, _ in lines], [label for _, label in lines]


def transplants(page: LabelledPage, stories: Sequence[Story], rng: random.Random) -> list[Example]:
    """Stories set in the page's real furniture: in its frame, and bare with a few lines."""
    if not page.lines or not stories:
        return []
    lines, labels = page.lines[1:], page.labels[1:]
    story_at = [i for i, y in enumerate(labels) if y]
    furniture = [
        ln
        for ln, y in zip(lines, labels, strict=True)
        if not y and len(ln.split()) <= _SHORT_FURNITURE
    ]
    if not story_at or not furniture:
        return []
    examples = []
    for title, paragraphs in rng.sample(list(stories), min(STORIES_PER_PAGE, len(stories))):
        before = [title if ln == page.lines[0] else ln for ln in lines[: story_at[0]]]
        after = lines[story_at[-1] + 1 :]
        middle, middle_labels = _sprinkled(paragraphs, furniture, rng)
        framed = before + middle + after
        framed_labels = [False] * len(before) + middle_labels + [False] * len(after)
        examples.append(page_example(framed, framed_labels, title))
        bare, bare_labels = _sprinkled(paragraphs, furniture, rng)
        examples.append(page_example(bare, bare_labels, title))
    return examples


def _forest() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=TREES,
        max_leaf_nodes=LEAVES,
        learning_rate=LEARNING_RATE,
        early_stopping=False,
        random_state=0,
    )


def _fit(examples: Sequence[Example], extra: Sequence[Floats] | None = None) -> Any:
    if extra is None:
        rows = [e.features for e in examples]
    else:
        rows = [np.hstack([e.features, x]) for e, x in zip(examples, extra, strict=True)]
    return _forest().fit(np.vstack(rows), np.concatenate([e.labels for e in examples]))


def export_trees(forest: HistGradientBoostingClassifier) -> dict[str, Any]:
    """A fitted binary forest as flat node arrays (see ``pipeline.cleaning.lines.Trees``)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []
    roots: list[int] = []
    depth = 0
    for (predictor,) in forest._predictors:
        offset = len(feature)
        roots.append(offset)
        for node in predictor.nodes:
            leaf = bool(node["is_leaf"])
            feature.append(0 if leaf else int(node["feature_idx"]))
            threshold.append(0.0 if leaf else float(node["num_threshold"]))
            left.append(-1 if leaf else offset + int(node["left"]))
            right.append(-1 if leaf else offset + int(node["right"]))
            value.append(float(node["value"]) if leaf else 0.0)
            depth = max(depth, int(node["depth"]))
    return {
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "value": value,
        "roots": roots,
        "baseline": float(np.ravel(forest._baseline_prediction)[0]),
        "depth": depth + 1,
    }


def _checked_trees(forest: HistGradientBoostingClassifier, sample: Floats) -> dict[str, Any]:
    exported = export_trees(forest)
    ours = Trees.from_json(exported).logits(sample)
    theirs = forest.decision_function(sample)
    if not np.allclose(ours, theirs, atol=1e-6):
        raise RuntimeError("exported trees disagree with scikit-learn; the export is wrong")
    return exported


def _sigmoid(values: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-values))
    return result


def fit_line_model(pages: Sequence[LabelledPage], stories: Sequence[Story] = ()) -> dict[str, Any]:
    """The classifier file's content, trained on ``pages`` (stage two on out-of-fold scores)."""
    rng = random.Random(0)
    renderings = [page_renderings(page) + transplants(page, stories, rng) for page in pages]
    examples = [e for group in renderings for e in group]
    first = _fit(examples)
    # The second stage learns from first-stage scores of pages the first stage never saw.
    hosts = [page.host for page, group in zip(pages, renderings, strict=True) for _ in group]
    folds = min(INNER_FOLDS, len(set(hosts)))
    scores: list[Floats] = [np.zeros(0)] * len(examples)
    for train, test in GroupKFold(n_splits=folds).split(examples, groups=hosts):
        inner = _fit([examples[i] for i in train])
        for i in test:
            scores[i] = inner.predict_proba(examples[i].features)[:, 1]
    extra = [stage_features(s, e.words) for s, e in zip(scores, examples, strict=True)]
    second = _fit(examples, extra)
    counts = np.ones((2, 2))
    for example in examples:
        labels = example.labels.astype(int)
        np.add.at(counts, (labels[:-1], labels[1:]), 1)
    transitions = TRANSITION_WEIGHT * np.log(counts / counts.sum(axis=1, keepdims=True))
    story_share = float(np.concatenate([e.labels for e in examples]).mean())
    sample = np.vstack([e.features for e in examples[:20]])
    sample2 = np.vstack(
        [np.hstack([e.features, x]) for e, x in zip(examples[:20], extra, strict=False)]
    )
    return {
        "format": FORMAT,
        "features": list(FEATURES),
        "stage_features": list(STAGE_FEATURES),
        "first": _checked_trees(first, sample),
        "second": _checked_trees(second, sample2),
        "transitions": transitions.tolist(),
        "prior": [1 - story_share, story_share],
        "metadata": {
            "pages": len(pages),
            "stories": len(stories),
            "sites": len(set(hosts)),
            "lines": int(sum(len(e.labels) for e in examples)),
            "trees": TREES,
            "leaves": LEAVES,
            "learning_rate": LEARNING_RATE,
            "transition_weight": TRANSITION_WEIGHT,
        },
    }


def line_model(content: dict[str, Any]) -> LineModel:
    """A classifier from a file's content, without writing it."""
    return LineModel(
        first=Trees.from_json(content["first"]),
        second=Trees.from_json(content["second"]),
        transitions=np.asarray(content["transitions"], dtype=np.float64),
        prior=np.asarray(content["prior"], dtype=np.float64),
        metadata=content["metadata"],
    )


def cross_validated_models(
    pages: Sequence[LabelledPage], stories: Sequence[Story] = (), folds: int = FOLDS
) -> list[tuple[LineModel, list[int]]]:
    """One model per fold with the indices of the pages it scores (grouped by site)."""
    hosts = [page.host for page in pages]
    splits = GroupKFold(n_splits=folds).split(list(pages), groups=hosts)
    return [
        (
            line_model(fit_line_model([pages[i] for i in train], stories)),
            [int(i) for i in test],
        )
        for train, test in splits
    ]


def write_model(content: dict[str, Any], out: Path) -> str:
    """Write the classifier file; returns its sha256."""
    data = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """``train`` the line classifier; the evaluation lives in ``stancewire eval cleaning``."""
    parser = argparse.ArgumentParser(prog="stancewire train cleaning", description=__doc__)
    parser.add_argument("action", choices=["train"])
    parser.add_argument("--data", type=Path, required=True, help="ScrapingHub benchmark folder")
    parser.add_argument(
        "--stories", type=Path, help="folder of clean .txt stories (BBC): every fifth trains"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    try:
        pages = list(read_pages(args.data))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stories = read_training_stories(args.stories) if args.stories else []
    content = fit_line_model(pages, stories)
    digest = write_model(content, args.out)
    meta = content["metadata"]
    print(
        f"trained on {meta['pages']} pages ({meta['sites']} sites) and {meta['stories']} "
        f"stories, {meta['lines']} lines; wrote {args.out} ({args.out.stat().st_size // 1024} KiB, "
        f"sha256 {digest[:16]})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

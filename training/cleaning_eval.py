"""The cleaning benchmarks: HTML extraction, the text path on rendered pages, injected lines.

``evaluate_extraction`` reads a folder in the ScrapingHub article-extraction benchmark layout
(``html/<id>.html.gz`` and ``ground-truth.json``) and scores stancewire's cleaning and plain
trafilatura on the same pages. ``evaluate_as_text`` renders those pages to the text a
crawler copies and scores the text path under site-grouped cross-validation, beside
keeping every line and trafilatura on the HTML. ``evaluate_boilerplate`` takes clean
articles (.txt, first line the title), injects boilerplate lines at the places sites put
them (kinds the rules know, or with ``unseen`` kinds and languages nothing was built on),
and scores which lines the cleaner removes.
"""

from __future__ import annotations

import gzip
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import trafilatura

from pipeline.cleaning import LineMemory, clean_article, clean_text, normalize_text
from pipeline.errors import EmptyArticle
from schemas import BlockType, RawArticle
from training.cleaning_injections import check_unseen, inject_lines
from training.cleaning_pages import LabelledPage, read_pages
from training.cleaning_training import (
    FOLDS,
    cross_validated_models,
    held_out_stories,
    read_training_stories,
    story_paths,
)
from training.evaluation import extraction_scores, line_scores, page_overlap


def stancewire_body(page_html: str, url: str | None) -> str:
    """The article body stancewire extracts from a page: every kept block but the title."""
    try:
        clean = clean_article(RawArticle(html=page_html, url=url))
    except EmptyArticle:
        return ""
    return "\n".join(b.text for b in clean.blocks if b.type is not BlockType.TITLE)


def evaluate_extraction(data_dir: Path) -> dict[str, Any]:
    """Scores of stancewire and plain trafilatura, side by side on every page of ``data_dir``."""
    truth = orjson.loads((data_dir / "ground-truth.json").read_bytes())
    ours, baseline = [], []
    seconds = {"stancewire": 0.0, "trafilatura": 0.0}
    for item_id, expected in sorted(truth.items()):
        page = gzip.decompress((data_dir / "html" / f"{item_id}.html.gz").read_bytes()).decode()
        reference = expected.get("articleBody", "")
        started = time.perf_counter()
        ours.append(page_overlap(reference, stancewire_body(page, expected.get("url"))))
        seconds["stancewire"] += time.perf_counter() - started
        started = time.perf_counter()
        plain = trafilatura.extract(page, url=expected.get("url")) or ""
        baseline.append(page_overlap(reference, plain))
        seconds["trafilatura"] += time.perf_counter() - started
    return {
        "stancewire": extraction_scores(ours).as_dict(),
        "trafilatura": extraction_scores(baseline).as_dict(),
        "pages": len(truth),
        "seconds": {name: round(value, 2) for name, value in seconds.items()},
    }


def text_body(page: LabelledPage, **options: Any) -> tuple[str, list[Any]]:
    """The body the text path keeps from a rendered page (headline line as the title)."""
    title, body = (page.lines[0], "\n".join(page.lines[1:])) if page.lines else ("", "")
    _, blocks, removed = clean_text(title, body, **options)
    return "\n".join(b.text for b in blocks if b.type is not BlockType.TITLE), removed


def evaluate_as_text(
    data_dir: Path, *, stories_dir: Path | None = None, folds: int = FOLDS
) -> dict[str, Any]:
    """The text path on rendered pages, each scored by a model trained without its site."""
    pages = list(read_pages(data_dir))
    stories = read_training_stories(stories_dir) if stories_dir else []
    started = time.perf_counter()
    models = cross_validated_models(pages, stories, folds)
    training_seconds = time.perf_counter() - started
    ours: dict[int, tuple[float, float, float]] = {}
    rules: dict[int, tuple[float, float, float]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for model, test in models:
        for i in test:
            page = pages[i]
            kept, removed = text_body(page, model=model)
            ours[i] = page_overlap(page.body, kept)
            rules[i] = page_overlap(page.body, text_body(page, classify=False)[0])
            outputs[page.item_id] = {
                "url": page.url,
                "kept": kept,
                "removed": [(r.reason, r.text) for r in removed],
                "f1": _page_f1(ours[i]),
            }
    everything = [page_overlap(p.body, "\n".join(p.lines[1:])) for p in pages]
    labelled = [
        page_overlap(
            p.body, "\n".join(ln for ln, y in zip(p.lines[1:], p.labels[1:], strict=True) if y)
        )
        for p in pages
    ]
    trafilatura_html = [
        page_overlap(p.body, trafilatura.extract(p.html, url=p.url) or "") for p in pages
    ]
    return {
        "pages": len(pages),
        "folds": folds,
        "text_cross_validated": extraction_scores([ours[i] for i in range(len(pages))]).as_dict(),
        "text_rules_only": extraction_scores([rules[i] for i in range(len(pages))]).as_dict(),
        "keep_everything": extraction_scores(everything).as_dict(),
        "trafilatura_html": extraction_scores(trafilatura_html).as_dict(),
        "line_labels_ceiling": extraction_scores(labelled).as_dict(),
        "training_seconds": round(training_seconds, 1),
        "outputs": outputs,
    }


def _page_f1(overlap: tuple[float, float, float]) -> float:
    tp, fp, fn = overlap
    return round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0


def evaluate_boilerplate(
    data_dir: Path,
    *,
    limit: int | None = None,
    seed: int = 13,
    threshold: int = 5,
    unseen: bool = False,
) -> dict[str, Any]:
    """Line-level scores of boilerplate removal on clean articles with injected lines."""
    if unseen:
        check_unseen()
    rng = random.Random(seed)
    # Each folder is one source, as BBC categories are here; learning starts from nothing.
    memory = LineMemory({}, threshold=threshold)
    # The stories the shipped classifier trained on (every fifth) are left out.
    paths = held_out_stories(story_paths(data_dir))[: limit or None]
    truth: list[bool] = []
    predicted: list[bool] = []
    paragraphs = lost = 0
    missed: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    lost_examples: list[str] = []
    started = time.perf_counter()
    for path in paths:
        title, _, body = path.read_bytes().decode("utf-8", "replace").strip().partition("\n")
        story = [line for line in normalize_text(body).split("\n") if line]
        lines = inject_lines(story, rng, unseen=unseen)
        _, _, removed = clean_text(
            title, "\n".join(text for text, _ in lines), source=path.parent.name, memory=memory
        )
        removed_lines = Counter(r.text for r in removed)
        for text, kind in lines:
            hit = removed_lines[text] > 0
            if hit:
                removed_lines[text] -= 1
            truth.append(kind is not None)
            predicted.append(hit)
            if kind is None:
                paragraphs += 1
                lost += hit
                if hit and len(lost_examples) < 20:
                    lost_examples.append(text)
            else:
                injected[kind] += 1
                missed[kind] += not hit
    elapsed = time.perf_counter() - started
    return {
        "lines": line_scores(truth, predicted).as_dict(),
        "articles": len(paths),
        "paragraphs": paragraphs,
        "paragraph_loss": round(lost / paragraphs, 5) if paragraphs else 0.0,
        "recall_by_kind": {k: round(1 - missed[k] / n, 4) for k, n in sorted(injected.items())},
        "articles_per_s": round(len(paths) / elapsed, 1) if elapsed else 0.0,
        "lost_paragraphs": lost_examples,
    }

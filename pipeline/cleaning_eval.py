"""The two cleaning benchmarks: HTML extraction against reference text, and synthetic boilerplate.

``evaluate_extraction`` reads a folder in the ScrapingHub article-extraction benchmark layout
(``html/<id>.html.gz`` and ``ground-truth.json``) and scores stancewire's cleaning and plain
trafilatura on the same pages. ``evaluate_boilerplate`` takes clean articles (.txt, first
line the title), injects boilerplate lines of many kinds and languages at the places sites
put them, and scores which lines the cleaner removes.
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

from pipeline.boilerplate import LineMemory
from pipeline.cleaning import clean_article, clean_text, normalize_text
from pipeline.errors import EmptyArticle
from pipeline.evaluation import extraction_scores, line_scores, page_overlap
from schemas import BlockType, RawArticle


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


# What sites put around a story, by kind: (kind, where it goes, lines). "{n}" gets a number.
# Some kinds are in the cleaner's phrase list, others only structural signals can catch.
INJECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "ad",
        "inside",
        (
            "Reklam yükleniyor...",
            "Advertisement",
            "ADVERTISEMENT",
            "Anzeige",
            "Publicité",
            "Реклама",
            "Publicidad",
            "Sponsored content",
            "Werbung",
        ),
    ),
    (
        "loading",
        "inside",
        (
            "Loading...",
            "Cargando...",
            "Chargement…",
            "Загрузка...",
            "Video wird geladen...",
            "Loading video…",
        ),
    ),
    (
        "share",
        "edge",
        ("Share this article", "Share", "Tweet", "Share on Facebook", "Email this story", "Print"),
    ),
    (
        "newsletter",
        "end",
        (
            "Sign up for our daily newsletter",
            "Subscribe to our weekly briefing for more stories like this",
            "Get the newsletter: the best stories in your inbox every morning",
        ),
    ),
    (
        "cookies",
        "start",
        (
            "We use cookies to give you the best experience on our site.",
            "By continuing you accept our cookie policy",
        ),
    ),
    (
        "related",
        "end",
        (
            "Read more: Markets rally as oil falls",
            "Related: Election timetable set",
            "See also: How the vote works",
            "More on this story",
        ),
    ),
    (
        "links",
        "edge",
        (
            "Home | News | Business | Sport | Weather",
            "World • Politics • Economy • Culture",
            "https://news.example.com/live",
            "www.example.org/subscribe",
        ),
    ),
    (
        "credit",
        "inside",
        ("Photo: Reuters", "Image: Getty Images", "Picture credit: AFP", "Foto: dpa"),
    ),
    (
        "comments",
        "end",
        (
            "Comments you share on our site are a valuable resource for other users. Please be "
            "respectful of different opinions and other users.",
            "Please read our community guidelines before posting a comment.",
            "Avoid using rude, aggressive, derogatory, or discriminatory language.",
        ),
    ),
    (
        "copyright",
        "end",
        ("© 2026 Example Media Group", "Copyright 2026 Example News Ltd.", "All rights reserved."),
    ),
    # No rule knows these: only per-source learning can remove them, after a few articles.
    (
        "site-footer",
        "end",
        (
            "Find more of our coverage in the Evening Ledger app for iOS and Android",
            "The Evening Ledger newsroom takes tips around the clock on desk nine",
        ),
    ),
)


def inject_boilerplate(paragraphs: list[str], rng: random.Random) -> list[tuple[str, str | None]]:
    """The story's paragraphs with 3 to 8 boilerplate lines mixed in, each tagged by kind."""
    lines: list[tuple[str, str | None]] = [(p, None) for p in paragraphs]
    for _ in range(rng.randint(3, 8)):
        kind, where, choices = rng.choice(INJECTIONS)
        line = rng.choice(choices)
        if where == "start":
            position = 0
        elif where == "end":
            position = len(lines)
        elif where == "edge":
            position = rng.choice((0, len(lines)))
        else:
            position = rng.randint(1, max(1, len(lines) - 1))
        lines.insert(position, (line, kind))
    return lines


def evaluate_boilerplate(
    data_dir: Path, *, limit: int | None = None, seed: int = 13, threshold: int = 5
) -> dict[str, Any]:
    """Line-level scores of boilerplate removal on clean articles with injected lines."""
    rng = random.Random(seed)
    # Each folder is one source, as BBC categories are here; learning starts from nothing.
    memory = LineMemory({}, threshold=threshold)
    paths = sorted(data_dir.rglob("*.txt"))
    paths = [p for p in paths if p.name.upper() != "README.TXT"][: limit or None]
    truth: list[bool] = []
    predicted: list[bool] = []
    paragraphs = lost = 0
    missed: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    started = time.perf_counter()
    for path in paths:
        title, _, body = path.read_bytes().decode("utf-8", "replace").strip().partition("\n")
        story = [line for line in normalize_text(body).split("\n") if line]
        lines = inject_boilerplate(story, rng)
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
    }

"""Holder (source) detection scored on PolNeAR attribution relations: who says what.

Each PolNeAR article (the alphabetically first annotator's file) is tagged by the entity
model, split into sentences, and ``pipeline.stance.holders.find_holders`` names one holder
per sentence with the words that name it there (a mention, a pronoun or a description).
A gold attribution is one ``E`` event with a ``Source``; it belongs to the sentence that
holds its cue. A predicted holder is right when the words naming it overlap the source
span of a gold attribution of its sentence. Precision = right holders / holders found;
recall = gold attributions with a right holder / gold attributions (a sentence gets one
holder, so two attributions in one sentence cap its recall at one). Holders carried over
a multi-sentence quotation name no words in their sentence and are not scored.

    python -m training.holders_eval eval --data DIR/attribution/polnear [--split dev]
        [--cache FILE] [--json] [--errors N]
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.cleaning.text import split_text_sentences
from pipeline.entities import ArticleText, load_entity_tagger
from pipeline.stance.holders import StanceInput, find_holders
from schemas import Entity

_RECORD_START = re.compile(r"^(?=[TE#]\d+\t)", re.MULTILINE)


class PolnearError(ValueError):
    """The folder or a file is not in the PolNeAR layout."""


@dataclass(frozen=True)
class Attribution:
    """One gold attribution: its source's segments and where its cue starts."""

    source: tuple[tuple[int, int], ...]
    cue: int


@dataclass(frozen=True)
class Article:
    name: str
    text: str
    attributions: list[Attribution]


def read_annotations(text: str) -> list[Attribution]:
    """The attributions with a source of one brat standoff file."""
    spans: dict[str, tuple[tuple[int, int], ...]] = {}
    events: list[dict[str, str]] = []
    for record in _RECORD_START.split(text):
        if not record.strip():
            continue
        key, _, rest = record.partition("\t")
        if key.startswith("T"):
            kind_and_offsets = rest.split("\t", 1)[0]
            offsets = kind_and_offsets.split(" ", 1)[1]
            spans[key] = tuple(
                (int(a), int(b)) for a, b in (piece.split() for piece in offsets.split(";"))
            )
        elif key.startswith("E"):
            roles = dict(part.split(":", 1) for part in rest.split() if ":" in part)
            events.append(roles)
    found: list[Attribution] = []
    for roles in events:
        if "Attribution" not in roles or roles.get("Source") not in spans:
            continue  # no source (Attribution-no-source) or a dangling reference
        cue = spans.get(roles.get("Cue", "")) or spans.get(roles["Attribution"])
        if cue is None:
            continue
        found.append(Attribution(spans[roles["Source"]], cue[0][0]))
    return found


def read_polnear(split_dir: Path) -> list[Article]:
    """The articles of one split folder (``text/`` and ``attributions/``), by file name."""
    texts = sorted((split_dir / "text").glob("*.txt"))
    if not texts:
        raise PolnearError(f"{split_dir}: no text/*.txt; pass a PolNeAR split folder")
    articles = []
    for path in texts:
        annotations = sorted((split_dir / "attributions").glob(f"{path.stem}_*.ann"))
        if not annotations:
            continue
        articles.append(
            Article(
                path.stem,
                path.read_text(encoding="utf-8"),
                read_annotations(annotations[0].read_text(encoding="utf-8")),
            )
        )
    return articles


def tag_entities(articles: Sequence[Article], cache: Path | None) -> list[list[Entity]]:
    """The entity model's entities of each article (read from ``cache`` when it has them)."""
    if cache is not None and cache.exists():
        stored = json.loads(cache.read_text())
        if all(article.name in stored for article in articles):
            return [
                [Entity.model_validate(entity) for entity in stored[article.name]]
                for article in articles
            ]
    tagger = load_entity_tagger(precision="auto")
    found: list[list[Entity]] = []
    for start in range(0, len(articles), 8):
        chunk = articles[start : start + 8]
        found += tagger.tag_articles(
            [ArticleText(a.text, split_text_sentences(a.text), lead_end=0) for a in chunk]
        )
    if cache is not None:
        cache.write_text(
            json.dumps(
                {
                    article.name: [entity.model_dump(mode="json") for entity in entities]
                    for article, entities in zip(articles, found, strict=True)
                }
            )
        )
    return found


def _overlaps(start: int, end: int, segments: Sequence[tuple[int, int]]) -> bool:
    return any(start < b and a < end for a, b in segments)


def _source_form(text: str, attribution: Attribution) -> str:
    words = " ".join(text[a:b] for a, b in attribution.source).split()
    first = words[0].lower() if words else ""
    if first in {"he", "she", "they", "i", "we", "it", "you"} and len(words) == 1:
        return "pronoun"
    if first in {"the", "a", "an"}:
        return "description"
    return "named"


def evaluate(
    articles: Sequence[Article], entities: Sequence[list[Entity]], errors: int = 0
) -> dict[str, Any]:
    """Precision, recall and F1 of the holders found, overall and by form."""
    found = right = gold = matched = 0
    by_via: Counter[str] = Counter()
    right_by_via: Counter[str] = Counter()
    gold_by_form: Counter[str] = Counter()
    matched_by_form: Counter[str] = Counter()
    shown: list[str] = []
    for article, tagged in zip(articles, entities, strict=True):
        sentences = split_text_sentences(article.text)
        starts = [start for start, _ in sentences]
        holders = find_holders(StanceInput(article.text, sentences, tagged))
        by_sentence: dict[int, list[Attribution]] = {}
        for attribution in article.attributions:
            index = max(0, bisect.bisect_right(starts, attribution.cue) - 1)
            by_sentence.setdefault(index, []).append(attribution)
        for index, holder in enumerate(holders):
            golds = by_sentence.get(index, [])
            gold += len(golds)
            for attribution in golds:
                gold_by_form[_source_form(article.text, attribution)] += 1
            if holder is None or holder.start < 0:
                continue
            key = f"{holder.anchor}/{holder.via}"
            found += 1
            by_via[key] += 1
            hits = [g for g in golds if _overlaps(holder.start, holder.end, g.source)]
            if hits:
                right += 1
                right_by_via[key] += 1
                matched += 1
                matched_by_form[_source_form(article.text, hits[0])] += 1
            elif len(shown) < errors:
                start, end = sentences[index]
                sources = "; ".join(" ".join(article.text[a:b] for a, b in g.source) for g in golds)
                shown.append(
                    f"found {article.text[holder.start : holder.end]!r} ({key}), gold "
                    f"{sources or '-'!r}: {article.text[start:end][:160]!r}"
                )
    precision = right / found if found else 0.0
    recall = matched / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "articles": len(articles),
        "attributions": gold,
        "holders_found": found,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "precision_by_form": {k: right_by_via[k] / n for k, n in sorted(by_via.items())},
        "found_by_form": dict(sorted(by_via.items())),
        "recall_by_source": {k: matched_by_form[k] / n for k, n in sorted(gold_by_form.items())},
        "sources": dict(sorted(gold_by_form.items())),
        "errors": shown,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stancewire eval holders", description=__doc__.splitlines()[0]
    )
    parser.add_argument("action", choices=["eval"])
    parser.add_argument("--format", choices=["polnear"], default="polnear")
    parser.add_argument("--data", type=Path, required=True, help="the PolNeAR folder")
    parser.add_argument("--split", default="dev", help="split folder under --data (dev)")
    parser.add_argument("--cache", type=Path, help="keep the tagged entities in this JSON file")
    parser.add_argument("--errors", type=int, default=0, help="print this many wrong holders")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    try:
        articles = read_polnear(args.data / args.split)
    except PolnearError as error:
        parser.error(str(error))
    result = evaluate(articles, tag_entities(articles, args.cache), args.errors)
    print(
        f"PolNeAR {args.split}: {result['articles']} articles, {result['attributions']} "
        f"attributions with a source, {result['holders_found']} holders found: precision "
        f"{result['precision']:.4f} recall {result['recall']:.4f} F1 {result['f1']:.4f}"
    )
    for key, value in result["precision_by_form"].items():
        print(f"  precision {key:<24} {value:.4f} of {result['found_by_form'][key]}")
    for key, value in result["recall_by_source"].items():
        print(f"  recall of {key:<10} sources {value:.4f} of {result['sources'][key]}")
    for line in result["errors"]:
        print("  " + line)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of the cleaning stage alone: median ms per text article, text articles/s, HTML pages/s.

    python benchmarks/cleaning_bench.py --text ../shared/data/news/bbc \
        --html ../shared/data/extraction/scrapinghub [--json OUT]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from pathlib import Path

import orjson

from agents.bootstrap import build_enricher
from agents.settings import Settings
from pipeline.cleaning import clean_article
from pipeline.enrichment import Received
from schemas import RawArticle


def _rate(count: int, run: object, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, required=True, help="folder of .txt articles")
    parser.add_argument("--html", type=Path, help="folder with html/*.html.gz pages")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    texts = [
        p.read_bytes().decode("utf-8", "replace").strip().partition("\n")
        for p in sorted(args.text.rglob("*.txt"))
        if p.name.upper() != "README.TXT"
    ][: args.limit]
    articles = [RawArticle(title=t, body=b) for t, _, b in texts]
    payloads = [Received(payload=orjson.dumps({"title": t, "body": b})) for t, _, b in texts]
    enricher = build_enricher(Settings())
    clean_article(articles[0])  # load the line classifier before timing
    per_article = []
    for article in articles:
        started = time.perf_counter()
        clean_article(article)
        per_article.append((time.perf_counter() - started) * 1000)
    figures = {
        "text_clean_median_ms_per_article": statistics.median(per_article),
        "text_clean_articles_per_s": _rate(
            len(articles), lambda: [clean_article(a) for a in articles], args.repeats
        ),
        # decode + validate + clean + language + near-duplicate check: the stages before models
        "text_pipeline_articles_per_s": _rate(
            len(payloads), lambda: enricher.enrich_batch(payloads), args.repeats
        ),
    }
    if args.html:
        pages = [
            RawArticle(html=gzip.decompress(p.read_bytes()).decode("utf-8", "replace"))
            for p in sorted((args.html / "html").glob("*.html.gz"))
        ]
        figures["html_clean_pages_per_s"] = _rate(
            len(pages), lambda: [clean_article(p) for p in pages], args.repeats
        )
    for name, value in figures.items():
        print(f"{name:<32} {value:8.1f}  (median of {args.repeats}, one core)")
    if args.json:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

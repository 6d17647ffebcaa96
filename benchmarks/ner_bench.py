"""Measures NER throughput (tokens/s, words/s, articles/s) for several batch sizes.

Usage (from the repository root):
    python -m benchmarks.ner_bench /path/to/news/bbc [--articles 32] [--repeats 3] [--model M]
        [--threads 2] [--device cpu|cuda] [--precision fp32|bf16|int8] [--batch-sizes 1,8,32]

Articles are the ``*.txt`` files under the folder (first line the title, the rest the
body), cleaned and split into sentences by the pipeline's own cleaner. For each batch size,
the same articles are tagged in micro-batches of that many articles; the figure is the
median over the repeats, after one warm-up pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from pipeline.cleaning import clean_text, split_sentences
from pipeline.entities import ArticleText, EntityTagger, load_entity_tagger, split_words
from pipeline.kernels.backbone import base_model_dir
from pipeline.kernels.precision import PRECISIONS
from schemas import BlockType

BATCH_SIZES = (1, 8, 32)


def read_articles(folder: Path, count: int) -> list[ArticleText]:
    """The first ``count`` articles under ``folder`` in path order, cleaned."""
    articles = []
    for path in sorted(folder.rglob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        if not body.strip():
            continue
        text, blocks, _ = clean_text(title, body)
        lead = [b.end for b in blocks if b.type in (BlockType.TITLE, BlockType.STANDFIRST)]
        lead_end = max(lead, default=0)
        articles.append(ArticleText(text, split_sentences(text, blocks), lead_end))
        if len(articles) == count:
            break
    if not articles:
        raise SystemExit(f"no article files (*.txt with a body) under {folder}")
    return articles


def time_batches(tagger: EntityTagger, articles: list[ArticleText], batch_size: int) -> float:
    """Seconds to tag all articles in micro-batches of ``batch_size``."""
    started = time.perf_counter()
    for first in range(0, len(articles), batch_size):
        tagger.tag_articles(articles[first : first + batch_size])
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--articles", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    articles = read_articles(options.data, options.articles)
    words = sum(len(sentence) for article in articles for sentence in split_words(article))
    # Word pieces of the backbone's tokenizer: what the encoder actually processes.
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir(), local_files_only=True)
    tokens = sum(len(tokenizer(a.text, add_special_tokens=False)["input_ids"]) for a in articles)
    tagger = load_entity_tagger(options.model, device=options.device, precision=options.precision)
    time_batches(tagger, articles[:4], 4)
    print(
        f"{tagger.model_name}: {len(articles)} articles, {words} words, {tokens} tokens, "
        f"{options.device} {options.precision}, {torch.get_num_threads()} threads, "
        f"median of {options.repeats}"
    )
    print(f"{'batch':>5} {'tokens/s':>10} {'words/s':>10} {'articles/s':>11}")
    for batch_size in (int(size) for size in options.batch_sizes.split(",")):
        seconds = statistics.median(
            time_batches(tagger, articles, batch_size) for _ in range(options.repeats)
        )
        print(
            f"{batch_size:>5} {tokens / seconds:>10.0f} {words / seconds:>10.0f} "
            f"{len(articles) / seconds:>11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Times the encoders' bf16 attention: PyTorch's fused kernel against the blocks of
``pipeline.kernels.attention``.

Usage (from the repository root):
    python -m benchmarks.attention_bench [--repeats 20] [--threads 2] [--blocks 1,2,4,8]
    python -m benchmarks.attention_bench --articles ../shared/data/news/bbc [--limit 96]

Without ``--articles``: the attention call alone, at the worker's shapes (12 heads of 32,
micro-batches of 16 NER windows or 32 stance pairs, up to 128 tokens, up to a quarter of
each sequence padded). The contenders run one after the other on the same inputs; figures
are medians over the repeats after one warm-up, with the largest difference from an fp32
reference. ``--blocks`` also times blocks of that many sequences.

With ``--articles``: two enrichers built from the worker's settings, one per attention
(``STANCEWIRE_MODEL_ATTENTION``), enrich the same articles in micro-batches of 16, taking
turns for ``--repeats`` rounds; prints each one's median articles/s and model CPU seconds
per article, their ratio, and how many stance labels and entity lists differ.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.kernels import attention
from pipeline.kernels.precision import Attention

HEADS, HEAD_SIZE = 12, 32
SHAPES = ((16, 128), (32, 128), (32, 96), (32, 64))


def fused(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, allowed: torch.Tensor
) -> torch.Tensor:
    output = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed)
    return output.transpose(1, 2)


def blocked(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    allowed: torch.Tensor,
    sequences: int | None = None,
) -> torch.Tensor:
    """The module's blocked attention; ``sequences`` overrides its block size."""
    kept = attention.BLOCK_SCORES
    if sequences:
        attention.BLOCK_SCORES = sequences * query.shape[1] * query.shape[2] * key.shape[2]
    try:
        return attention.blocked_attention(nn.Identity().eval(), query, key, value, allowed)[0]
    finally:
        attention.BLOCK_SCORES = kept


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def time_shape(
    batch: int, length: int, blocks: list[int], repeats: int, generator: torch.Generator
) -> None:
    """One line per contender for one batch shape."""
    query, key, value = (
        torch.randn(batch, HEADS, length, HEAD_SIZE, generator=generator).bfloat16()
        for _ in range(3)
    )
    real = torch.randint(length * 3 // 4, length + 1, (batch,), generator=generator)
    allowed = (torch.arange(length) < real[:, None])[:, None, None, :]
    reference = fused(query.float(), key.float(), value.float(), allowed)
    rows = torch.arange(length) < real[:, None]  # compare the real tokens only
    flops = 4 * batch * HEADS * length * length * HEAD_SIZE
    contenders = [("fused (sdpa)", partial(fused, query, key, value, allowed))]
    contenders.append(("blocked", partial(blocked, query, key, value, allowed)))
    for size in blocks:
        contenders.append((f"blocks of {size}", partial(blocked, query, key, value, allowed, size)))
    for name, run in contenders:
        ms = median_ms(run, repeats)
        difference = (run().float() - reference)[rows].abs().max().item()
        print(
            f"{batch:5d}  {length:6d}  {name:16s} {ms:6.2f}  {flops / ms / 1e6:8.0f}  "
            f"{difference:.4f}"
        )


def time_articles(folder: Path, limit: int, repeats: int) -> None:
    """The whole in-process enrichment, fused against blocked attention, turn about."""
    from agents.bootstrap import build_enricher
    from agents.settings import Settings
    from benchmarks.enrichment_turns import article_batches, enrich_in_turns, print_differences
    from pipeline.enrichment import Enricher

    batches = article_batches(folder, limit)
    articles = sum(len(batch) for batch in batches)
    kinds: tuple[Attention, ...] = ("fused", "blocked")
    enrichers: dict[str, Enricher] = {
        kind: build_enricher(Settings(model_attention=kind)) for kind in kinds
    }
    turns = enrich_in_turns(enrichers, batches, repeats, abba=False)
    for kind in kinds:
        print(
            f"{kind:8s} {statistics.median(turns.rates[kind]):6.2f} articles/s, "
            f"model CPU {statistics.median(turns.model_ms[kind]):6.1f} ms per article"
        )
    ratio = statistics.median(turns.rates["blocked"]) / statistics.median(turns.rates["fused"])
    print(f"blocked / fused: {ratio:.2f}x over {articles} articles, {repeats} rounds")
    print_differences(turns.events["fused"], turns.events["blocked"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--blocks", default="", help="also time these block sizes, e.g. 1,2,8")
    parser.add_argument("--articles", type=Path, help="enrich these articles instead")
    parser.add_argument("--limit", type=int, default=96, help="articles to enrich")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.articles:
        time_articles(args.articles, args.limit, args.repeats)
        return 0
    generator = torch.Generator().manual_seed(0)
    print(f"threads {torch.get_num_threads()}, {HEADS} heads of {HEAD_SIZE}, bf16 inputs")
    print("batch  tokens  contender          ms   GFLOP/s  max |diff| vs fp32")
    blocks = [int(size) for size in args.blocks.split(",") if size]
    with torch.inference_mode():
        for batch, length in SHAPES:
            time_shape(batch, length, blocks, args.repeats, generator)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

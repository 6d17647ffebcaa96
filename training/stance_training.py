"""Training of the stance cross-encoder on the public data sets: ``python -m
training.stance_training train`` (the corpus, adaptation and calibration have their own
modules)."""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipeline.kernels.precision import apply_precision
from pipeline.stance import (
    PAIR_MAX_LENGTH,
    CrossEncoderScorer,
    StanceModelError,
    StanceNetwork,
    encode_pairs,
    load_backbone,
    save_stance_model,
    split_hashtags,
)
from pipeline.stance.labels import LABELS
from training.batching import autocast, group_by_length, linear_schedule, pad_rows
from training.stance_adaptation import ADAPT_BATCH_SIZE, ADAPT_LEARNING_RATE, adapt_to_passages
from training.stance_arguments import stance_parser
from training.stance_calibration import calibrate_and_score
from training.stance_corpus import (
    ALL_LABELS,
    MARKED_SOURCES,
    SOURCE_LABELS,
    SOURCES,
    example_weights,
    load_training_data,
    sample_dev,
    write_dev_splits,
)
from training.stance_data import StanceDataError
from training.stance_eval import print_scores


def _cache_lower(
    network: StanceNetwork,
    encoded: Sequence[dict[str, list[int]]],
    device: str,
    log: Any,
    bf16: bool = False,
) -> list[torch.Tensor]:
    """Run the frozen layers once per example; store their output in fp16, unpadded."""
    cache: list[torch.Tensor] = [torch.empty(0)] * len(encoded)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]["input_ids"]))
    network.eval()
    started = time.monotonic()
    with torch.inference_mode():
        for number, start in enumerate(range(0, len(order), 64)):
            chunk = order[start : start + 64]
            ids = pad_rows([torch.tensor(encoded[i]["input_ids"]) for i in chunk]).to(device)
            types = pad_rows([torch.tensor(encoded[i]["token_type_ids"]) for i in chunk]).to(device)
            mask = (ids != 0).long()
            with autocast(device, bf16):
                hidden = network.lower(ids, mask, types).to(torch.float16).cpu()
            for row, index in enumerate(chunk):
                cache[index] = hidden[row, : len(encoded[index]["input_ids"])].clone()
            if number % 50 == 0:
                log(f"cached {start + len(chunk)}/{len(order)} ({time.monotonic() - started:.0f}s)")
    return cache


def train_stance(
    data_root: Path,
    out_dir: Path,
    *,
    epochs: int = 1,
    seed: int = 13,
    batch_size: int = 32,
    learning_rate: float = 1.5e-4,
    head_learning_rate: float = 1e-3,
    frozen_layers: int | None = None,
    unrelated_share: float = 0.15,
    repeats: dict[str, int] | None = None,
    keep: dict[str, float] | None = None,
    init: Path | None = None,
    limit: int | None = None,
    dev_limit: int | None = None,
    threads: int | None = None,
    source_labels: bool = False,
    device: str | None = None,
    hashtags: bool = False,
    ema: float | None = None,
    adapt_epochs: int = 0,
    hold_layers: int | None = None,
    bf16: bool = False,
) -> dict[str, Any]:
    """Train on every data set under ``data_root``, calibrate on dev, write ``out_dir``.

    Returns the dev scores. ``repeats`` shows a data set's examples that many times an
    epoch (default: SemEval-2016 twice); ``keep`` keeps a seeded share of a data set's
    training examples, so a second stage started with ``init`` can focus on some sets
    while replaying a little of the others. ``limit`` keeps a seeded sample of that many
    training examples and ``dev_limit`` a seeded sample of each dev set, for smoke runs.
    ``source_labels`` computes each example's loss over the labels its data set can
    express only (P-Stance: favor/against), so a binary set is not taught "never neutral".
    ``device`` defaults to CUDA when present. ``hashtags`` splits the words of hashtags
    (see ``split_hashtags``), in training and in every later use of the model.
    ``ema`` keeps an exponential moving average of the trained weights with that decay and
    ships the average. ``adapt_epochs`` first runs that many epochs of masked-word
    prediction on the training passages (``adapt_to_passages``). ``hold_layers`` keeps
    the lower layers of an ``init`` model fixed in this run (their output is cached, so
    an epoch costs about half) while they still ship as trained before. ``bf16`` trains
    with bf16 arithmetic over fp32 weights and scores dev in bf16, as the worker runs.
    """
    repeats = {"semeval2016": 2} if repeats is None else repeats
    keep = keep or {}
    if ema is not None and not 0.0 < ema < 1.0:
        raise StanceDataError(f"--ema must be between 0 and 1 (exclusive), not {ema}")
    if adapt_epochs < 0:
        raise StanceDataError(f"--adapt-epochs must be 0 or more, not {adapt_epochs}")
    if adapt_epochs and (frozen_layers is None or frozen_layers > 0):
        raise StanceDataError("adaptation trains every layer: use --frozen-layers 0")
    unknown = (set(repeats) | set(keep)) - set(SOURCES)
    if unknown:
        raise StanceDataError(f"unknown data set(s) {sorted(unknown)}; use {', '.join(SOURCES)}")
    started = time.monotonic()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    if threads:
        torch.set_num_threads(threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:7.0f}s] {message}", file=sys.stderr, flush=True)

    train, dev = load_training_data(data_root, unrelated_share=unrelated_share, seed=seed)
    write_dev_splits(data_root, out_dir)
    if keep:
        train = [ex for ex in train if rng.random() < keep.get(ex.source, 1.0)]
    if limit is not None:
        train = rng.sample(train, min(limit, len(train)))
    if dev_limit is not None:
        dev = {name: sample_dev(name, ex, dev_limit, rng) for name, ex in dev.items()}
    log(f"train {len(train)} {dict(Counter(ex.source for ex in train))}")
    log(f"dev {', '.join(f'{name} {len(examples)}' for name, examples in dev.items())}")

    encoder, tokenizer = load_backbone()
    if init is None:
        network = StanceNetwork(encoder, 3 if frozen_layers is None else frozen_layers)
    else:
        # Continue from a model this command wrote earlier, optionally training more layers.
        network = CrossEncoderScorer(init, "cpu", batch_size).network
        if frozen_layers is not None:
            network.unfreeze(frozen_layers)
        log(f"starting from {init}, training from layer {network.frozen_layers}")
    if hold_layers is not None:
        network.hold(hold_layers)
        log(f"layers below {hold_layers} held fixed (and cached) in this run")
    network.to(device)
    passages = [split_hashtags(ex.passage) if hashtags else ex.passage for ex in train]
    if adapt_epochs:
        adapt_to_passages(
            network,
            tokenizer,
            sorted(set(passages)),
            epochs=adapt_epochs,
            batch_size=ADAPT_BATCH_SIZE,
            learning_rate=ADAPT_LEARNING_RATE,
            device=device,
            rng=rng,
            log=log,
        )
    encoded = encode_pairs(tokenizer, [ex.target for ex in train], passages)
    lengths = [len(row["input_ids"]) for row in encoded]
    log(f"tokens per epoch {sum(lengths)}")
    cache = _cache_lower(network, encoded, device, log, bf16)
    labels = torch.tensor([example.label for example in train])
    weights = torch.tensor(example_weights(train))
    allowed = torch.zeros(len(train), len(LABELS), dtype=torch.bool)
    for index, example in enumerate(train):
        allowed[index, list(SOURCE_LABELS[example.source] if source_labels else ALL_LABELS)] = True

    trainable = [p for p in network.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": trainable, "lr": learning_rate},
            {"params": network.head.parameters(), "lr": head_learning_rate},
        ],
        weight_decay=0.01,
    )
    # SemEval-2016 is the smallest set (2.6k tweets, 34 tokens each): seeing it twice an
    # epoch costs 3 % more time and keeps the large sets from drowning its five targets.
    epoch_indices = [
        index for index, example in enumerate(train) for _ in range(repeats.get(example.source, 1))
    ]
    steps = epochs * math.ceil(len(epoch_indices) / batch_size)
    scheduler = linear_schedule(optimizer, steps)
    tuned = [p for p in network.parameters() if p.requires_grad]
    average = [p.detach().clone() for p in tuned] if ema else []
    step = 0
    for epoch in range(epochs):
        network.train()
        total = 0.0
        batches = group_by_length(lengths, batch_size, rng, indices=epoch_indices)
        for number, batch in enumerate(batches):
            hidden = pad_rows([cache[i] for i in batch]).to(device, torch.float32)
            mask = pad_rows([torch.ones(lengths[i], dtype=torch.long) for i in batch]).to(device)
            with autocast(device, bf16):
                logits = network.upper(hidden, mask).float()
            logits = logits.masked_fill(~allowed[batch].to(device), -1e4)
            losses = nn.functional.cross_entropy(logits, labels[batch].to(device), reduction="none")
            loss = (losses * weights[batch].to(device)).sum() / weights[batch].sum().to(device)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            if ema:
                # The usual warm-up of the decay, so early weights fade out quickly.
                decay = min(ema, (1 + step) / (10 + step))
                for averaged, parameter in zip(average, tuned, strict=True):
                    averaged.lerp_(parameter.detach(), 1.0 - decay)
            total += float(loss.detach())
            if number % 100 == 0:
                mean = total / (number + 1)
                log(f"epoch {epoch + 1} batch {number}/{len(batches)} loss {mean:.4f}")
        log(f"epoch {epoch + 1} done, mean loss {total / max(1, len(batches)):.4f}")
    if ema:
        with torch.no_grad():
            for parameter, averaged in zip(tuned, average, strict=True):
                parameter.copy_(averaged)

    marked = any(example.source in MARKED_SOURCES for example in train)
    settings: dict[str, Any] = {
        "name": "stancewire-stance-news-minilm-l6" if marked else "stancewire-stance-minilm-l6",
        "max_length": PAIR_MAX_LENGTH,
        "temperature": 1.0,
        "unrelated_threshold": 0.5,
        "split_hashtags": hashtags,
        "marked_targets": marked,
        "training": {
            "epochs": epochs,
            "seed": seed,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "head_learning_rate": head_learning_rate,
            "unrelated_share": unrelated_share,
            "repeats": repeats,
            "keep": keep,
            "init": str(init) if init else None,
            "examples": dict(Counter(ex.source for ex in train)),
            "limit": limit,
            "dev_limit": dev_limit,
            "source_labels": source_labels,
            "device": device,
            "ema": ema,
            "adapt_epochs": adapt_epochs,
            "hold_layers": hold_layers,
            "bf16": bf16,
            "adapt_batch_size": ADAPT_BATCH_SIZE if adapt_epochs else None,
            "adapt_learning_rate": ADAPT_LEARNING_RATE if adapt_epochs else None,
        },
    }
    save_stance_model(network, out_dir, settings)
    scorer = CrossEncoderScorer(out_dir, device, 64)
    if bf16:
        apply_precision(scorer.network, "bf16", device)
    scores = calibrate_and_score(scorer, dev, settings, log)
    settings["dev"] = scores
    settings["training"]["wall_seconds"] = round(time.monotonic() - started)
    save_stance_model(network, out_dir, settings)
    log(json.dumps(scores))
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``train`` (``eval`` lives in ``training.stance_eval``); the last
    line is JSON with ``--json``."""
    arguments = stance_parser(__doc__).parse_args(argv)
    try:
        scores = train_stance(
            arguments.data,
            arguments.out,
            epochs=arguments.epochs,
            seed=arguments.seed,
            batch_size=arguments.batch_size,
            learning_rate=arguments.learning_rate,
            frozen_layers=arguments.frozen_layers,
            unrelated_share=arguments.unrelated_share,
            repeats=dict(arguments.repeat) if arguments.repeat else None,
            keep=dict(arguments.keep or ()),
            init=arguments.init,
            limit=arguments.limit,
            dev_limit=arguments.dev_limit,
            threads=arguments.threads,
            source_labels=arguments.source_labels,
            device=arguments.device,
            hashtags=arguments.split_hashtags,
            ema=arguments.ema,
            adapt_epochs=arguments.adapt_epochs,
            hold_layers=arguments.hold_layers,
            bf16=arguments.bf16,
            head_learning_rate=arguments.head_learning_rate,
        )
    except (StanceDataError, StanceModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_scores(scores, as_json=arguments.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

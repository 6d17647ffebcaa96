"""Training, calibration and evaluation of the stance cross-encoder on the public data sets."""

from __future__ import annotations

import argparse
import csv
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

from pipeline.precision import apply_precision
from pipeline.stance import (
    CrossEncoderScorer,
    StanceModelError,
    StanceNetwork,
    load_backbone,
    save_stance_model,
    split_hashtags,
)
from pipeline.stance.labels import AGAINST, FAVOR, LABELS, NEUTRAL, UNRELATED
from training.stance_data import (
    StanceDataError,
    StanceExample,
    is_dev_group,
    read_fnc,
    read_pstance,
    read_semeval,
    score_predictions,
)
from training.stance_eval import item_gold, predict_labels, score_items
from training.stance_news_data import (
    carve_dev,
    read_directed,
    read_emergent,
    read_gwsd,
    read_newsmtsc,
)

MAX_LENGTH = 128
# Masked-word adaptation (``--adapt-epochs``): batch size and learning rate of the layers.
ADAPT_BATCH_SIZE = 128
ADAPT_LEARNING_RATE = 1e-4
SOURCES = ("fnc1", "arc", "semeval2016", "pstance", "newsmtsc", "directed", "gwsd", "emergent")
# GWSD and Emergent come without a dev file: this share (%) of sentences / claims is carved.
CARVED_DEV_SHARE = 20
# The format each dev set is scored in.
DEV_FORMATS = {
    "fnc1": "fnc1",
    "arc": "fnc1",
    "semeval2016": "semeval2016",
    "pstance": "pstance",
    "newsmtsc_rw": "newsmtsc",
    "newsmtsc_mt": "newsmtsc",
    "directed": "directed",
    "gwsd": "gwsd",
    "emergent": "emergent",
}
# Data sets whose entity targets are marked in their passage (``pipeline.stance.marking``): a
# model trained on any of them says so in its config (``marked_targets``), so that inference
# marks entity targets the same way; topic targets stay paired with unmarked passages.
MARKED_SOURCES = ("newsmtsc", "directed")
# The shared labels each data set can express: P-Stance has no neutral tweets and SemEval
# no "unrelated" class.
ALL_LABELS = (FAVOR, AGAINST, NEUTRAL, UNRELATED)
SOURCE_LABELS = {
    "fnc1": ALL_LABELS,
    "arc": ALL_LABELS,
    "semeval2016": (FAVOR, AGAINST, NEUTRAL),
    "pstance": (FAVOR, AGAINST),
    "newsmtsc": (FAVOR, AGAINST, NEUTRAL),
    "directed": (FAVOR, AGAINST, NEUTRAL),
    "gwsd": (FAVOR, AGAINST, NEUTRAL),
    "emergent": (FAVOR, AGAINST, NEUTRAL),
}


def load_training_data(
    data_root: Path, *, unrelated_share: float, seed: int
) -> tuple[list[StanceExample], dict[str, list[StanceExample]]]:
    """Training examples of every data set found under ``data_root`` and one dev set each.

    FNC-1 and ARC have no dev file, so whole headlines/claims go to dev by hash: dev
    claims are unseen in training. Training keeps ``unrelated_share`` of the unrelated
    pairs (the easy majority); dev keeps all of them so its scores are the real ones.
    """
    rng = random.Random(seed)
    train: list[StanceExample] = []
    dev: dict[str, list[StanceExample]] = {}
    for name, stances, bodies in (
        ("fnc1", "fnc1/train_stances.csv", "fnc1/train_bodies.csv"),
        ("arc", "arc/arc_stances_train.csv", "arc/arc_bodies.csv"),
    ):
        if not (data_root / stances).exists():
            continue
        examples = read_fnc(data_root / stances, data_root / bodies, source=name)
        dev[name] = [example for example in examples if is_dev_group(example.group)]
        train.extend(
            example
            for example in examples
            if not is_dev_group(example.group)
            and (example.label != UNRELATED or rng.random() < unrelated_share)
        )
    semeval = data_root / "semeval2016_tweeteval"
    if semeval.exists():
        train.extend(read_semeval(semeval, "train"))
        dev["semeval2016"] = read_semeval(semeval, "val")
    pstance = data_root / "pstance"
    if pstance.exists():
        for path in sorted(pstance.glob("raw_train_*.csv")):
            train.extend(read_pstance(path))
        dev["pstance"] = [
            ex for path in sorted(pstance.glob("raw_val_*.csv")) for ex in read_pstance(path)
        ]
    newsmtsc = data_root / "newsmtsc"
    if (newsmtsc / "train.jsonl").exists():
        train.extend(read_newsmtsc(newsmtsc / "train.jsonl"))
        for split in ("rw", "mt"):
            if (newsmtsc / f"dev_{split}.jsonl").exists():
                dev[f"newsmtsc_{split}"] = read_newsmtsc(newsmtsc / f"dev_{split}.jsonl")
    directed = data_root / "directed_sentiment"
    if (directed / "train.txt").exists():
        train.extend(read_directed(directed / "train.txt"))
        if (directed / "valid.txt").exists():
            dev["directed"] = read_directed(directed / "valid.txt")
    for name, path, reader in (
        ("gwsd", data_root / "gwsd" / "GWSD_train.tsv", read_gwsd),
        ("emergent", data_root / "emergent" / "train.csv", read_emergent),
    ):
        if path.exists():
            carved_train, dev[name] = carve_dev(reader(path), CARVED_DEV_SHARE)
            train.extend(carved_train)
    if not train:
        raise StanceDataError(f"{data_root}: no stance data found (fnc1/, arc/, pstance/, ...)")
    return train, dev


def write_dev_splits(data_root: Path, out_dir: Path) -> dict[str, Path]:
    """Write the carved dev splits as files the ``eval`` command reads in their own format.

    FNC-1/ARC dev rows (whole headlines chosen by hash) keep their original columns and
    order; the P-Stance val files are joined into one CSV. SemEval's val split is read
    in place with ``--split val``.
    """
    folder = out_dir / "dev"
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, stances in (("fnc1", "fnc1/train_stances.csv"), ("arc", "arc/arc_stances_train.csv")):
        source = data_root / stances
        if not source.exists():
            continue
        with source.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [row for row in reader if is_dev_group(row["Headline"])]
            columns = list(reader.fieldnames or ())
        written[name] = folder / f"{name}_dev_stances.csv"
        with written[name].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    val_files = sorted((data_root / "pstance").glob("raw_val_*.csv"))
    if val_files:
        written["pstance"] = folder / "pstance_val.csv"
        with written["pstance"].open("w", encoding="utf-8", newline="") as handle:
            joined = csv.writer(handle, lineterminator="\n")
            joined.writerow(["Tweet", "Target", "Stance"])
            for path in val_files:
                with path.open(encoding="utf-8", newline="") as source_handle:
                    reader = csv.DictReader(source_handle)
                    joined.writerows((r["Tweet"], r["Target"], r["Stance"]) for r in reader)
    for name, source, key, delimiter in (
        ("gwsd", data_root / "gwsd" / "GWSD_train.tsv", "sentence", "\t"),
        ("emergent", data_root / "emergent" / "train.csv", "claimId", ","),
    ):
        if source.exists():
            written[name] = folder / f"{name}_dev{source.suffix}"
            _write_carved(source, written[name], key, delimiter)
    return written


def _write_carved(source: Path, out: Path, key: str, delimiter: str) -> None:
    """The rows of ``source`` whose ``key`` column falls in the carved dev share, verbatim
    in file order with the header (as ``carve_dev`` splits them)."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = list(reader.fieldnames or ())
        rows = [row for row in reader if is_dev_group(row[key].strip(), CARVED_DEV_SHARE)]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def example_weights(examples: Sequence[StanceExample]) -> list[float]:
    """Square-root inverse frequency of each label within its own data set.

    FNC-1 ``disagree`` is 1.7 % of the data; weighting within a data set lifts it
    without letting the balanced P-Stance labels swamp FNC's rare class.
    """
    counts = Counter((example.source, example.label) for example in examples)
    per_source = Counter(example.source for example in examples)
    labels_per_source = Counter(source for source, _ in counts)
    return [
        math.sqrt(
            per_source[ex.source] / (labels_per_source[ex.source] * counts[(ex.source, ex.label)])
        )
        for ex in examples
    ]


def _tokenize(
    tokenizer: Any, examples: Sequence[StanceExample], passages: Sequence[str]
) -> list[dict[str, list[int]]]:
    """The (target, passage) pairs, ``passages`` being the examples' as the model reads them."""
    encoded = tokenizer(
        [example.target for example in examples],
        list(passages),
        truncation="longest_first",
        max_length=MAX_LENGTH,
    )
    return [
        {"input_ids": ids, "token_type_ids": types}
        for ids, types in zip(encoded["input_ids"], encoded["token_type_ids"], strict=True)
    ]


def _pad(rows: Sequence[torch.Tensor], value: float = 0.0) -> torch.Tensor:
    return nn.utils.rnn.pad_sequence(list(rows), batch_first=True, padding_value=value)


def _length_batches(
    indices: Sequence[int], lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar length: sort within pools of 50 batches, then shuffle."""
    order = list(indices)
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _autocast(device: str, bf16: bool) -> Any:
    """bf16 arithmetic over fp32 weights where asked (CPUs with bf16 units: 2.3x faster
    upper-layer steps here); otherwise a no-op context."""
    return torch.autocast(device.split(":")[0], torch.bfloat16, enabled=bf16)


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
            ids = _pad([torch.tensor(encoded[i]["input_ids"]) for i in chunk]).to(device)
            types = _pad([torch.tensor(encoded[i]["token_type_ids"]) for i in chunk]).to(device)
            mask = (ids != 0).long()
            with _autocast(device, bf16):
                hidden = network.lower(ids, mask, types).to(torch.float16).cpu()
            for row, index in enumerate(chunk):
                cache[index] = hidden[row, : len(encoded[index]["input_ids"])].clone()
            if number % 50 == 0:
                log(f"cached {start + len(chunk)}/{len(order)} ({time.monotonic() - started:.0f}s)")
    return cache


def _linear_schedule(optimizer: torch.optim.Optimizer, steps: int) -> Any:
    """Linear warm-up over the first 5 % of the steps, then linear decay to zero."""
    warmup = max(1, steps // 20)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))),
    )


def adapt_to_passages(
    network: StanceNetwork,
    tokenizer: Any,
    passages: Sequence[str],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    device: str,
    rng: random.Random,
    log: Any,
) -> None:
    """Task-adaptive pre-training (Gururangan et al., 2020): masked-word prediction on the
    training passages (tweets and news sentences) before the stance head is trained.

    The backbone ships without its masked-word head, so a new one is trained beside the
    encoder's layers; its output projection is the frozen word-embedding matrix, so the
    embeddings stay the backbone's (the model ships without them). Of each passage's
    tokens 15 % are chosen: 80 % of those become [MASK], 10 % a random token, 10 % stay.
    The head is discarded afterwards. (Gradients are clipped over the encoder alone and
    weight decay applies to the head's bias too: that is how the sweep's runs were made.)
    """
    encoder = network.encoder
    hidden = int(encoder.config.hidden_size)
    words = encoder.embeddings.word_embeddings.weight
    transform = nn.Sequential(
        nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden, eps=1e-12)
    ).to(device)
    bias = nn.Parameter(torch.zeros(words.shape[0], device=device))
    encoded = tokenizer(list(passages), truncation=True, max_length=MAX_LENGTH)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": trainable, "lr": learning_rate},
            {"params": [*transform.parameters(), bias], "lr": learning_rate * 10},
        ],
        weight_decay=0.01,
    )
    steps = epochs * math.ceil(len(encoded) / batch_size)
    scheduler = _linear_schedule(optimizer, steps)
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)), device=device)
    generator = torch.Generator(device=device).manual_seed(rng.randrange(2**31))
    autocast = torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda"))
    network.train()
    for epoch in range(epochs):
        total = 0.0
        batches = _length_batches(range(len(encoded)), lengths, batch_size, rng)
        for batch in batches:
            ids = _pad([torch.tensor(encoded[i]) for i in batch]).to(device)
            mask = (ids != tokenizer.pad_token_id).long()
            chosen = (torch.rand(ids.shape, device=device, generator=generator) < 0.15) & (
                ~torch.isin(ids, special)
            )
            if not chosen.any():
                continue
            draw = torch.rand(ids.shape, device=device, generator=generator)
            noisy = ids.clone()
            noisy[chosen & (draw < 0.8)] = tokenizer.mask_token_id
            swap = chosen & (draw >= 0.8) & (draw < 0.9)
            noisy[swap] = torch.randint(
                words.shape[0], (int(swap.sum()),), device=device, generator=generator
            )
            with autocast:
                states = encoder(input_ids=noisy, attention_mask=mask).last_hidden_state
                predicted = transform(states[chosen]) @ words.t() + bias
            loss = nn.functional.cross_entropy(predicted.float(), ids[chosen])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            total += float(loss.detach())
        mean = total / max(1, len(batches))
        log(f"adaptation epoch {epoch + 1}/{epochs}, masked-word loss {mean:.3f}")


def dev_logits(scorer: CrossEncoderScorer, examples: Sequence[StanceExample]) -> torch.Tensor:
    """Uncalibrated logits of the scorer's network on a list of examples."""
    return scorer.logits([ex.target for ex in examples], [ex.passage for ex in examples])


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature that minimises dev negative log-likelihood (Guo et al., 2017)."""
    log_temperature = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_temperature.exp(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return float(log_temperature.exp().item())


def tune_unrelated_threshold(probabilities: torch.Tensor, gold: Sequence[str]) -> float:
    """The unrelated-probability cut that maximises the FNC relative score on dev."""
    best_threshold, best_score = 0.5, -1.0
    for step in range(5, 100, 5):
        threshold = step / 100
        score = score_predictions("fnc1", gold, predict_labels("fnc1", probabilities, threshold))
        if score["fnc_relative_score"] > best_score:
            best_threshold, best_score = threshold, score["fnc_relative_score"]
    return best_threshold


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
        dev = {name: _sample_dev(name, ex, dev_limit, rng) for name, ex in dev.items()}
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
    encoded = _tokenize(tokenizer, train, passages)
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
    scheduler = _linear_schedule(optimizer, steps)
    tuned = [p for p in network.parameters() if p.requires_grad]
    average = [p.detach().clone() for p in tuned] if ema else []
    step = 0
    for epoch in range(epochs):
        network.train()
        total = 0.0
        batches = _length_batches(epoch_indices, lengths, batch_size, rng)
        for number, batch in enumerate(batches):
            hidden = _pad([cache[i] for i in batch]).to(device, torch.float32)
            mask = _pad([torch.ones(lengths[i], dtype=torch.long) for i in batch]).to(device)
            with _autocast(device, bf16):
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

    settings: dict[str, Any] = {
        "name": "stancewire-stance-minilm-l6",
        "max_length": MAX_LENGTH,
        "temperature": 1.0,
        "unrelated_threshold": 0.5,
        "split_hashtags": hashtags,
        "marked_targets": any(example.source in MARKED_SOURCES for example in train),
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
    raw_logits = {name: dev_logits(scorer, examples) for name, examples in dev.items()}
    log("dev logits done")
    all_logits = torch.cat(list(raw_logits.values()))
    all_labels = torch.tensor([ex.label for examples in dev.values() for ex in examples])
    settings["temperature"] = fit_temperature(all_logits, all_labels)
    dev_probabilities = {
        name: torch.softmax(values / settings["temperature"], dim=-1)
        for name, values in raw_logits.items()
    }
    if "fnc1" in dev:
        settings["unrelated_threshold"] = tune_unrelated_threshold(
            dev_probabilities["fnc1"], [ex.gold for ex in dev["fnc1"]]
        )
    scores: dict[str, Any] = {}
    for name, examples in dev.items():
        format_name = DEV_FORMATS[name]
        predicted = predict_labels(
            format_name, dev_probabilities[name], settings["unrelated_threshold"]
        )
        gold = item_gold(format_name, examples)
        scores[name] = score_items(format_name, gold, predicted)
        scores[name]["examples"] = len(gold)
    scores["calibration"] = {
        "temperature": settings["temperature"],
        "ece_before": expected_calibration_error(torch.softmax(all_logits, -1), all_labels),
        "ece_after": expected_calibration_error(
            torch.softmax(all_logits / settings["temperature"], -1), all_labels
        ),
    }
    settings["dev"] = scores
    settings["training"]["wall_seconds"] = round(time.monotonic() - started)
    save_stance_model(network, out_dir, settings)
    log(json.dumps(scores))
    return scores


def _sample_dev(
    name: str, examples: list[StanceExample], size: int, rng: random.Random
) -> list[StanceExample]:
    """A seeded sample of a dev set, in its order; directed-sentiment rows keep both pairs."""
    width = 2 if DEV_FORMATS[name] == "directed" else 1
    items = len(examples) // width
    chosen = sorted(rng.sample(range(items), min(size, items)))
    return [examples[item * width + offset] for item in chosen for offset in range(width)]


def expected_calibration_error(
    probabilities: torch.Tensor, labels: torch.Tensor, bins: int = 10
) -> float:
    """Confidence-vs-accuracy gap, averaged over 10 equal-width confidence bins."""
    confidence, predicted = probabilities.max(dim=-1)
    correct = (predicted == labels).float()
    error = 0.0
    for low in range(bins):
        inside = (confidence > low / bins) & (confidence <= (low + 1) / bins)
        if inside.any():
            error += float(inside.float().mean()) * abs(
                float(correct[inside].mean()) - float(confidence[inside].mean())
            )
    return error


def _source_value(kind: type[int] | type[float]) -> Any:
    """An argparse type for ``SOURCE=VALUE`` options, checked against the known data sets."""

    def parse(text: str) -> tuple[str, int | float]:
        source, separator, value = text.partition("=")
        if not separator or source not in SOURCES:
            raise argparse.ArgumentTypeError(f"{text!r}: expected SOURCE=VALUE, one of {SOURCES}")
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: the value must be positive")
        return source, number

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.stance_training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, calibrate and write a stance model")
    train.add_argument(
        "--data", type=Path, required=True, help="folder with fnc1/, arc/, pstance/, ..."
    )
    train.add_argument("--out", type=Path, required=True)
    train.add_argument("--epochs", type=int, default=1)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1.5e-4)
    train.add_argument(
        "--frozen-layers",
        type=int,
        default=None,
        help="lower layers left as in the backbone (default 3; with --init, the model's)",
    )
    train.add_argument("--unrelated-share", type=float, default=0.15)
    train.add_argument(
        "--repeat",
        action="append",
        type=_source_value(int),
        metavar="SOURCE=N",
        help="show SOURCE's examples N times an epoch (default semeval2016=2)",
    )
    train.add_argument(
        "--keep",
        action="append",
        type=_source_value(float),
        metavar="SOURCE=SHARE",
        help="keep a seeded share (0..1] of SOURCE's training examples (default 1)",
    )
    train.add_argument("--init", type=Path, default=None, help="continue from this model")
    train.add_argument("--limit", type=int, default=None, help="seeded sample size, for smoke runs")
    train.add_argument("--dev-limit", type=int, default=None, help="seeded dev sample size")
    train.add_argument("--threads", type=int, default=None)
    train.add_argument(
        "--source-labels",
        action="store_true",
        help="loss over the labels each data set has only (P-Stance: favor/against)",
    )
    train.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if any)")
    train.add_argument(
        "--split-hashtags",
        action="store_true",
        help="read #RunTogetherWords as words, in training and whenever the model is used",
    )
    train.add_argument(
        "--ema", type=float, default=None, metavar="DECAY", help="ship a moving average of weights"
    )
    train.add_argument(
        "--adapt-epochs",
        type=int,
        default=0,
        help="epochs of masked-word prediction on the training passages first (needs "
        "--frozen-layers 0)",
    )
    train.add_argument(
        "--hold-layers",
        type=int,
        default=None,
        help="with --init: keep the model's lower N layers fixed in this run (cached: cheaper "
        "epochs); they still ship",
    )
    train.add_argument("--head-learning-rate", type=float, default=1e-3)
    train.add_argument(
        "--bf16",
        action="store_true",
        help="bf16 arithmetic over fp32 weights in training, dev scored in bf16",
    )
    train.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``train`` (``eval`` lives in ``training.stance_eval``); the last
    line is JSON with ``--json``."""
    arguments = _parser().parse_args(argv)
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
    for name, value in scores.items():
        print(f"{name}: {value}")
    if arguments.json:
        print(json.dumps(scores, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Training and evaluation of the NER model on CoNLL-2003-format files."""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from pipeline.entities import load_entity_tagger, tagger_from_bundle
from pipeline.entities.network import LABELS, NetworkBundle, build_network, save_network
from pipeline.entities.pieces import (
    UNKNOWN_SHAPE,
    EncodedSentence,
    collate_windows,
    encode_sentences,
    plan_windows,
    word_shape,
)
from pipeline.kernels.attention import attention_of
from pipeline.kernels.precision import Attention, Precision, add_arithmetic_arguments
from training.batching import group_by_length, linear_schedule
from training.conll import Document, read_conll, score_spans, write_predictions

MODEL_NAME = "stancewire-ner-minilm-1"
# A shape seen fewer times than this in training is read as unknown; rare shapes would
# otherwise get embeddings that never learn anything.
MIN_SHAPE_COUNT = 3


def train_ner(
    data_dir: Path,
    out_dir: Path,
    *,
    epochs: int = 8,
    seed: int = 13,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    head_learning_rate: float = 2e-3,
    device: str | None = None,
    threads: int = 2,
    limit_documents: int | None = None,
    eval_every: int = 2,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the case-aware MiniLM tagger on ``data_dir/train.txt`` and save it to ``out_dir``.

    When ``data_dir/valid.txt`` exists, the dev F1 is measured every ``eval_every`` epochs and
    after the last (for the log
    only: the model saved is the one after the last epoch, so a run is reproducible from its
    arguments alone). ``device`` defaults to CUDA when present. Returns the dev figures
    and the wall time. The output folder is what ``load_entity_tagger(out_dir)`` reads.
    """
    started = time.monotonic()
    chosen_device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(threads)
    random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)

    documents = read_conll(data_dir / "train.txt")
    if limit_documents is not None:
        documents = documents[:limit_documents]
    valid_file = data_dir / "valid.txt"
    valid = read_conll(valid_file) if valid_file.is_file() else []

    bundle = build_network(_shape_vocabulary(documents), MODEL_NAME)
    windows, window_tags = _training_windows(bundle, documents)
    log(f"{len(documents)} documents, {len(windows)} windows on {chosen_device}")

    network = bundle.network.to(chosen_device)
    encoder_parameters = [
        parameter for parameter in network.encoder.parameters() if parameter.requires_grad
    ]
    encoder_ids = {id(parameter) for parameter in encoder_parameters}
    head_parameters = [
        parameter
        for parameter in network.parameters()
        if parameter.requires_grad and id(parameter) not in encoder_ids
    ]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_parameters, "lr": learning_rate},
            {"params": head_parameters, "lr": head_learning_rate},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = math.ceil(len(windows) / batch_size)
    total_steps = steps_per_epoch * epochs
    scheduler = linear_schedule(optimizer, total_steps)
    lengths = [sum(part.length for part in window) for window in windows]
    tokenizer = bundle.tokenizer
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        network.train()
        epoch_started = time.monotonic()
        running = 0.0
        for step, batch_indices in enumerate(group_by_length(lengths, batch_size, rng), start=1):
            batch = collate_windows(
                [windows[index] for index in batch_indices],
                cls_id=int(tokenizer.cls_token_id),
                sep_id=int(tokenizer.sep_token_id),
                tags=[window_tags[index] for index in batch_indices],
            )
            batch = {name: value.to(chosen_device) for name, value in batch.items()}
            emissions = network.emissions(batch)
            loss = network.crf.negative_log_likelihood(
                emissions.float(), batch["tags"], batch["word_mask"]
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running += float(loss.detach())
            if step % 50 == 0:
                elapsed = time.monotonic() - epoch_started
                log(
                    f"epoch {epoch} step {step}/{steps_per_epoch} loss {running / step:.3f} "
                    f"{elapsed:.0f}s"
                )
        record = {
            "epoch": float(epoch),
            "loss": running / steps_per_epoch,
            "seconds": time.monotonic() - epoch_started,
        }
        if valid and epoch < epochs and epoch % eval_every == 0:
            figures = _score_documents(tagger_from_bundle(bundle, device=chosen_device), valid)
            record["dev_f1"] = float(figures["f1"])
        history.append(record)
        log(json.dumps(record))
    network.to("cpu")
    save_network(bundle, out_dir)
    result: dict[str, Any] = {
        "model_name": MODEL_NAME,
        "out_dir": str(out_dir),
        "epochs": epochs,
        "seed": seed,
        "train_seconds": time.monotonic() - started,
        "history": history,
    }
    if valid:
        result["dev"] = _score_documents(load_entity_tagger(out_dir), valid)
    (out_dir / "training.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def evaluate_ner(
    data_file: Path,
    model: str | Path | None = None,
    predictions: Path | None = None,
    *,
    batch_size: int = 16,
    precision: Precision = "fp32",
    attention: Attention = "blocked",
) -> dict[str, Any]:
    """Score a model on a CoNLL-2003-format file, entity by entity as conlleval does.

    ``model`` is as for ``load_entity_tagger`` (None: the shipped model). Returns micro
    ``precision``, ``recall``, ``f1`` and ``per_type`` figures. With ``predictions``, writes
    ``token gold predicted`` lines there, a blank line between sentences, for every sentence.
    """
    documents = read_conll(data_file)
    tagger = load_entity_tagger(
        model, batch_size=batch_size, precision=precision, attention=attention
    )
    figures = _score_documents(tagger, documents, predictions)
    figures["model_name"] = tagger.model_name
    figures["precision_mode"] = precision
    figures["attention"] = attention_of(tagger.network)
    figures["data"] = str(data_file)
    return figures


def _score_documents(
    tagger: Any, documents: Sequence[Document], predictions: Path | None = None
) -> dict[str, Any]:
    labelled = tagger.tag_documents(
        [[sentence.tokens for sentence in document.sentences] for document in documents]
    )
    predicted = [[label for label, _ in sentence] for document in labelled for sentence in document]
    sentences = [sentence for document in documents for sentence in document.sentences]
    if predictions is not None:
        write_predictions(predictions, sentences, predicted)
    return score_spans([sentence.tags for sentence in sentences], predicted)


def _shape_vocabulary(documents: Sequence[Document]) -> list[str]:
    counts: Counter[str] = Counter()
    for document in documents:
        for sentence in document.sentences:
            for index, token in enumerate(sentence.tokens):
                counts[word_shape(token, sentence_start=index == 0)] += 1
    frequent = sorted(shape for shape, count in counts.items() if count >= MIN_SHAPE_COUNT)
    return [UNKNOWN_SHAPE, *frequent]


def _training_windows(
    bundle: NetworkBundle, documents: Sequence[Document]
) -> tuple[list[list[EncodedSentence]], list[list[int]]]:
    """Each document's sentences packed into windows (every word labelled exactly once)."""
    label_ids = {label: index for index, label in enumerate(LABELS)}
    windows: list[list[EncodedSentence]] = []
    window_tags: list[list[int]] = []
    for document in documents:
        encoded = encode_sentences(
            bundle.tokenizer, [sentence.tokens for sentence in document.sentences], bundle.shape_ids
        )
        parts: list[EncodedSentence] = []
        tags: list[list[int]] = []
        for sentence, sentence_parts in zip(document.sentences, encoded, strict=True):
            consumed = 0
            for part in sentence_parts:
                words = len(part.pieces)
                parts.append(part)
                tags.append([label_ids[tag] for tag in sentence.tags[consumed : consumed + words]])
                consumed += words
        for window in plan_windows([part.length for part in parts], context=0):
            windows.append(parts[window.first : window.end])
            window_tags.append([tag for part in tags[window.first : window.end] for tag in part])
    return windows, window_tags


def main(arguments: Sequence[str] | None = None) -> int:
    """``python -m training.ner_training train|eval ...`` (the CLI wires the same functions)."""
    parser = argparse.ArgumentParser(prog="python -m training.ner_training")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="fine-tune the NER model on DIR/train.txt")
    train.add_argument("--data", type=Path, required=True)
    train.add_argument("--out", type=Path, required=True)
    train.add_argument("--epochs", type=int, default=8)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--limit-documents", type=int, default=None)
    train.add_argument("--threads", type=int, default=2)
    evaluate = commands.add_parser("eval", help="score a model on a CoNLL file")
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--model", default=None)
    evaluate.add_argument("--predictions", type=Path, default=None)
    evaluate.add_argument("--json", action="store_true")
    add_arithmetic_arguments(evaluate)
    options = parser.parse_args(arguments)
    if options.command == "train":
        result = train_ner(
            options.data,
            options.out,
            epochs=options.epochs,
            seed=options.seed,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            limit_documents=options.limit_documents,
            threads=options.threads,
        )
        print(json.dumps(result))
        return 0
    torch.set_num_threads(2)
    figures = evaluate_ner(
        options.data,
        options.model,
        options.predictions,
        precision=options.precision,
        attention=options.attention,
    )
    print(json.dumps(figures) if options.json else format_figures(figures))
    return 0


def format_figures(figures: dict[str, Any]) -> str:
    """Human-readable precision/recall/F1, overall and per type."""
    lines = [
        f"{figures.get('model_name', '')} on {figures.get('data', '')}",
        f"overall  P {figures['precision']:.4f}  R {figures['recall']:.4f}  F1 {figures['f1']:.4f}",
    ]
    for kind, values in figures["per_type"].items():
        lines.append(
            f"{kind:<8} P {values['precision']:.4f}  R {values['recall']:.4f}  "
            f"F1 {values['f1']:.4f}  ({values['gold']} gold)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

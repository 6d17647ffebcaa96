"""Scorers that turn (target, passage) pairs into probabilities over the stance labels."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from pipeline.stance.labels import AGAINST, FAVOR, LABELS, NEUTRAL
from pipeline.stance.network import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    StanceModelError,
    StanceNetwork,
    load_backbone,
    split_hashtags,
)

NLI_HYPOTHESES = ("The text supports {target}.", "The text opposes {target}.")


class StanceScorer(Protocol):
    """Turns (target, passage) pairs into calibrated probabilities over ``LABELS``."""

    name: str

    @property
    def network(self) -> nn.Module: ...

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor: ...


# What the cross-encoder reads of a tokenised (target, passage) pair.
PAIR_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
# Pieces of a pair the shipped models were trained on; longer pairs lose their end.
PAIR_MAX_LENGTH = 128


def encode_pairs(
    tokenizer: Any,
    targets: Sequence[str],
    passages: Sequence[str],
    max_length: int = PAIR_MAX_LENGTH,
) -> list[dict[str, list[int]]]:
    """(target, passage) pairs as the cross-encoder reads them, in training and inference:
    ``[CLS] target [SEP] passage [SEP]``, the longer side cut first, unpadded."""
    encoded = tokenizer(
        list(targets), list(passages), truncation="longest_first", max_length=max_length
    )
    return [{name: encoded[name][index] for name in PAIR_INPUTS} for index in range(len(targets))]


class CrossEncoderScorer:
    """The project's cross-encoder: the backbone plus the trained upper layers and head."""

    def __init__(self, model_dir: Path, device: str, batch_size: int) -> None:
        from safetensors.torch import load_file

        config_path = model_dir / CONFIG_FILE
        if not config_path.exists():
            raise StanceModelError(
                f"{model_dir}: no {CONFIG_FILE}; pass a directory written by train_stance"
            )
        self.config: dict[str, Any] = json.loads(config_path.read_text())
        encoder, self.tokenizer = load_backbone()
        self.network = StanceNetwork(encoder, int(self.config["frozen_layers"]))
        state = {
            name: tensor.float()
            for name, tensor in load_file(str(model_dir / WEIGHTS_FILE)).items()
        }
        missing = set(self.network.trained_state()) - set(state)
        if missing:
            raise StanceModelError(f"{model_dir}: weights lack {sorted(missing)[:3]}...")
        self.network.load_state_dict(state, strict=False)
        self.network.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = int(self.config.get("max_length", PAIR_MAX_LENGTH))
        self.temperature = float(self.config.get("temperature", 1.0))
        self.unrelated_threshold = float(self.config.get("unrelated_threshold", 0.5))
        self.name = str(self.config.get("name", "stancewire-stance"))
        # Models trained with split hashtags must read them split too.
        self.reads_split_hashtags = bool(self.config.get("split_hashtags", False))
        self.tokens_seen = 0  # real (unpadded) tokens run through the network, for metrics

    def batches(
        self, targets: Sequence[str], passages: Sequence[str]
    ) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
        """The pairs as the network reads them: tokenised once, then batched in order of
        token count, so a batch is padded only to the longest of similar lengths (sorting by
        characters left a fifth of the positions as padding). Yields each batch's pair
        indices and its padded inputs, on the CPU."""
        if self.reads_split_hashtags:
            passages = [split_hashtags(passage) for passage in passages]
        rows = encode_pairs(self.tokenizer, targets, passages, self.max_length)
        order = sorted(range(len(rows)), key=lambda index: len(rows[index]["input_ids"]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            yield chunk, self.tokenizer.pad([rows[index] for index in chunk], return_tensors="pt")

    def logits(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        """Raw logits, one row per pair, in the order given."""
        result = torch.zeros(len(targets), len(LABELS))
        if not targets:
            return result
        with torch.inference_mode():
            for chunk, inputs in self.batches(targets, passages):
                batch = {name: tensor.to(self.device) for name, tensor in inputs.items()}
                self.tokens_seen += int(batch["attention_mask"].sum())
                output = self.network(
                    batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
                )
                result[torch.tensor(chunk)] = output.float().cpu()
        return result

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        if not targets:
            return torch.zeros(0, len(LABELS))
        return torch.softmax(self.logits(targets, passages) / self.temperature, dim=-1)


class NliScorer:
    """Zero-shot stance from any NLI model: does the passage entail support or opposition?"""

    def __init__(self, model: str, device: str, batch_size: int) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.network = AutoModelForSequenceClassification.from_pretrained(model).to(device).eval()
        label2id = {name.lower(): index for name, index in self.network.config.label2id.items()}
        entail = [index for name, index in label2id.items() if name.startswith("entail")]
        if not entail:
            raise StanceModelError(f"{model}: no 'entailment' label; is it an NLI model?")
        self.entailment = int(entail[0])
        self.device = device
        self.batch_size = batch_size
        self.name = model
        self.unrelated_threshold = 1.0

    def _entailment(self, premises: Sequence[str], hypotheses: Sequence[str]) -> torch.Tensor:
        scores: list[torch.Tensor] = []
        with torch.inference_mode():
            for start in range(0, len(premises), self.batch_size):
                batch = self.tokenizer(
                    list(premises[start : start + self.batch_size]),
                    list(hypotheses[start : start + self.batch_size]),
                    truncation="only_first",
                    max_length=256,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.network(**batch).logits.float().cpu()
                scores.append(torch.softmax(logits, dim=-1)[:, self.entailment])
        return torch.cat(scores) if scores else torch.zeros(0)

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        if not targets:
            return torch.zeros(0, len(LABELS))
        support = self._entailment(passages, [NLI_HYPOTHESES[0].format(target=t) for t in targets])
        oppose = self._entailment(passages, [NLI_HYPOTHESES[1].format(target=t) for t in targets])
        probabilities = torch.zeros(len(targets), len(LABELS))
        probabilities[:, FAVOR] = support * (1.0 - oppose)
        probabilities[:, AGAINST] = oppose * (1.0 - support)
        probabilities[:, NEUTRAL] = 1.0 - probabilities[:, FAVOR] - probabilities[:, AGAINST]
        return probabilities

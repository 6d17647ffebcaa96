"""Self-attention for the encoders in bf16 on the CPU: batched products, a few sequences at once.

PyTorch's fused CPU attention runs the encoders' 32-wide heads at about 100 GFLOP/s in
bf16, a third of the model time in the worker. Two plain bf16 batched matrix products
with a softmax in between (which reduces in fp32) do the same arithmetic about twice as
fast, provided the score matrices of a block of sequences stay in the CPU's cache. The
dev-set scores it gives are in the README's performance section. Models whose attention
does not go through transformers' ``AttentionInterface`` keep their own.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

NAME = "stancewire_blocked"
# Score elements per block, 1.5 MB in bf16: for 12 heads of 128 tokens, 4 sequences.
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
    keys = key.shape[2]
    scale = scaling if scaling is not None else size**-0.5
    bias = _bias(attention_mask, batch, heads, keys, query.dtype)
    queries = query.reshape(batch * heads, length, size)
    keys_t = key.reshape(batch * heads, keys, size).transpose(1, 2)
    values = value.reshape(batch * heads, keys, size)
    output = query.new_empty(batch, length, heads, size)
    step = max(1, BLOCK_SCORES // (heads * length * keys))
    for first in range(0, batch, step):
        rows = slice(first * heads, (first + step) * heads)
        # One product gives the scaled scores plus the mask; softmax reduces in fp32
        # whatever its input type, so only the scores and the weights are rounded to bf16.
        scores = torch.baddbmm(
            bias if bias.shape[0] == 1 else bias[rows], queries[rows], keys_t[rows], alpha=scale
        )
        weights = torch.softmax(scores, dim=-1)
        block = torch.bmm(weights, values[rows])
        output[first : first + step] = block.view(-1, heads, length, size).transpose(1, 2)
    return output, None


def _bias(
    mask: torch.Tensor | None, batch: int, heads: int, keys: int, dtype: torch.dtype
) -> torch.Tensor:
    """The mask as an additive bias of shape (batch x heads or 1, queries or 1, keys)."""
    if mask is None:
        return torch.zeros(1, 1, keys, dtype=dtype)
    if mask.dtype == torch.bool:
        # The lowest finite value, not -inf: a fully masked row stays finite.
        mask = torch.zeros(mask.shape, dtype=dtype).masked_fill_(~mask, torch.finfo(dtype).min)
    mask = mask.to(dtype)
    rows = mask.shape[-2]
    return mask.expand(batch, heads, rows, keys).reshape(batch * heads, rows, keys)


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

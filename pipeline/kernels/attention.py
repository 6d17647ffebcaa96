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
    bias = _bias(attention_mask, keys, query.dtype)
    queries = query.reshape(batch * heads, length, size)
    keys_t = key.reshape(batch * heads, keys, size).transpose(1, 2)
    values = value.reshape(batch * heads, keys, value.shape[3])
    output = query.new_empty(batch, length, heads, value.shape[3])
    step = max(1, BLOCK_SCORES // (heads * length * keys))
    for first in range(0, batch, step):
        last = min(first + step, batch)
        rows = slice(first * heads, last * heads)
        # The block's mask, one copy per head: (sequences x heads, queries or 1, keys).
        block_bias = bias if bias.shape[0] == 1 else bias[first:last]
        block_bias = block_bias.expand(last - first, heads, *bias.shape[2:]).reshape(
            (last - first) * heads, *bias.shape[2:]
        )
        # One product gives the scaled scores plus the mask; softmax reduces in fp32
        # whatever its input type, so only the scores and the weights are rounded to bf16.
        scores = torch.baddbmm(block_bias, queries[rows], keys_t[rows], alpha=scale)
        weights = torch.softmax(scores, dim=-1)
        block = torch.bmm(weights, values[rows])
        output[first:last] = block.view(last - first, heads, length, -1).transpose(1, 2)
    return output, None


def _bias(mask: torch.Tensor | None, keys: int, dtype: torch.dtype) -> torch.Tensor:
    """The mask as an additive bias of shape (batch or 1, 1, queries or 1, keys)."""
    lowest = torch.finfo(dtype).min  # not -inf: a fully masked row stays finite
    if mask is None:
        return torch.zeros(1, 1, 1, keys, dtype=dtype)
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype).masked_fill_(~mask, lowest)
    # An fp32 mask's lowest value is beyond bf16's range and would become -inf.
    return mask.to(dtype).clamp_(min=lowest)


def use_blocked_attention(module: nn.Module) -> int:
    """Switch the plain encoders inside ``module`` (see ``_plain_encoder``) to blocked
    attention; returns how many were switched. Other models keep their own attention."""
    from transformers import AttentionInterface, PreTrainedModel
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, blocked_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # boolean masks, as for sdpa
    switched = 0
    for model in module.modules():
        if isinstance(model, PreTrainedModel) and _plain_encoder(model):
            model.set_attn_implementation(NAME)
            switched += 1
    return switched


def attention_of(module: nn.Module) -> str:
    """``"blocked"`` if a model inside ``module`` runs blocked attention, else ``"fused"``."""
    from transformers import PreTrainedModel

    for model in module.modules():
        if isinstance(model, PreTrainedModel) and model.config._attn_implementation == NAME:
            return "blocked"
    return "fused"


def _plain_encoder(model: Any) -> bool:
    """Bidirectional self-attention with as many key heads as query heads and no extra
    position bias: what ``blocked_attention`` computes. Decoders, encoder-decoders and
    grouped-query models keep PyTorch's attention."""
    config = model.config
    heads = getattr(config, "num_attention_heads", None)
    return bool(
        model._supports_attention_backend
        and not getattr(config, "is_decoder", False)
        and not getattr(config, "is_encoder_decoder", False)
        and getattr(config, "num_key_value_heads", heads) == heads
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
    )

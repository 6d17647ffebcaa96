"""Blocked attention gives what PyTorch's attention gives, for raw tensors and inside a BERT."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel

from pipeline.kernels import attention
from pipeline.kernels.attention import attention_of, blocked_attention, use_blocked_attention
from pipeline.kernels.precision import apply_precision
from tests.tiny_bert import tiny_bert_config


def _inputs(dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(3)
    return tuple(torch.randn(5, 4, 9, 8, generator=generator).to(dtype) for _ in range(3))


def _tiny_bert_config(layers: int = 1, **extra: Any) -> BertConfig:
    """A tiny BERT on PyTorch's sdpa attention."""
    return tiny_bert_config(layers=layers, attn_implementation="sdpa", **extra)


def _reference(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor):
    return F.scaled_dot_product_attention(
        query.float(), key.float(), value.float(), attn_mask=mask
    ).transpose(1, 2)


@pytest.mark.parametrize("block_scores", [1, 4 * 9 * 9 * 2, 10**9])
def test_blocked_attention_matches_pytorch_for_any_block_size(
    monkeypatch: pytest.MonkeyPatch, block_scores: int
) -> None:
    monkeypatch.setattr(attention, "BLOCK_SCORES", block_scores)
    query, key, value = _inputs(torch.float32)
    allowed = (torch.arange(9) < torch.tensor([9, 3, 7, 1, 5])[:, None])[:, None, None, :]
    expected = _reference(query, key, value, allowed)
    got, weights = blocked_attention(nn.Identity().eval(), query, key, value, allowed)
    assert weights is None and got.shape == (5, 9, 4, 8)
    assert torch.allclose(got, expected, atol=1e-5)
    additive = torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)
    got_additive, _ = blocked_attention(nn.Identity().eval(), query, key, value, additive)
    assert torch.allclose(got_additive, expected, atol=1e-5)


def test_bf16_stays_about_as_close_to_fp32_as_the_fused_kernel() -> None:
    query, key, value = _inputs(torch.bfloat16)
    allowed = torch.ones(1, 1, 1, 9, dtype=torch.bool)
    expected = _reference(query, key, value, allowed)
    fused = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed).transpose(1, 2)
    got, _ = blocked_attention(nn.Identity().eval(), query, key, value, allowed)
    assert got.dtype == torch.bfloat16
    fused_error = (fused.float() - expected).abs().max().item()
    blocked_error = (got.float() - expected).abs().max().item()
    assert blocked_error <= 2 * fused_error, (blocked_error, fused_error)


def test_a_fully_masked_row_stays_finite_and_training_dropout_is_refused() -> None:
    query, key, value = _inputs(torch.float32)
    nothing = torch.zeros(5, 1, 9, 9, dtype=torch.bool)
    got, _ = blocked_attention(nn.Identity().eval(), query, key, value, nothing)
    assert torch.isfinite(got).all()
    with pytest.raises(ValueError, match="inference"):
        blocked_attention(nn.Identity().train(), query, key, value, None, dropout=0.1)


def test_a_bert_switched_to_blocked_attention_gives_the_same_hidden_states() -> None:
    torch.manual_seed(0)
    config = _tiny_bert_config(layers=2)
    model = BertModel(config).eval()
    ids = torch.randint(1, 50, (3, 7))
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5])
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state
        assert use_blocked_attention(nn.Sequential(model)) == 1
        assert model.config._attn_implementation == attention.NAME
        assert attention_of(model) == "blocked"
        got = model(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-5)


def test_bf16_on_the_cpu_uses_blocked_attention_and_fp32_keeps_the_default() -> None:
    config = _tiny_bert_config()
    assert apply_precision(BertModel(config), "fp32").config._attn_implementation == "sdpa"
    bf16 = apply_precision(BertModel(config), "bf16")
    assert bf16.config._attn_implementation == attention.NAME


def test_fused_attention_keeps_pytorchs_kernel_in_bf16() -> None:
    config = _tiny_bert_config()
    fused = apply_precision(BertModel(config), "bf16", attention="fused")
    assert fused.config._attn_implementation == "sdpa"
    with pytest.raises(ValueError, match="unknown attention"):
        apply_precision(BertModel(config), "bf16", attention="flash")  # type: ignore[arg-type]


def test_a_mask_per_query_and_an_fp32_mask_on_bf16_inputs_are_honoured() -> None:
    query, key, value = _inputs(torch.float32)
    generator = torch.Generator().manual_seed(5)
    allowed = torch.rand(5, 1, 9, 9, generator=generator) > 0.4
    allowed[..., 0] = True  # every query sees at least one key
    expected = _reference(query, key, value, allowed)
    got, _ = blocked_attention(nn.Identity().eval(), query, key, value, allowed)
    assert torch.allclose(got, expected, atol=1e-5)
    lowest = torch.finfo(torch.float32).min
    additive = torch.zeros(5, 1, 1, 9).masked_fill(~allowed[:, :, :1, :], lowest)
    additive[0] = lowest  # the first sequence sees nothing at all
    bf16 = [tensor.bfloat16() for tensor in (query, key, value)]
    got_bf16, _ = blocked_attention(nn.Identity().eval(), *bf16, additive)
    assert torch.isfinite(got_bf16.float()).all()


def test_decoders_keep_their_own_attention() -> None:
    config = _tiny_bert_config(is_decoder=True)
    decoder = BertModel(config)
    assert use_blocked_attention(decoder) == 0
    assert decoder.config._attn_implementation == "sdpa"
    assert attention_of(decoder) == "fused"

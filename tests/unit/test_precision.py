"""int8 precision swaps linear layers for quantised ones whose outputs stay close to fp32."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pipeline.kernels.precision import apply_precision


def test_int8_replaces_linear_layers_and_keeps_outputs_close() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 8)).eval()
    inputs = torch.randn(32, 64)
    expected = model(inputs)
    apply_precision(model, "int8")
    assert not any(type(layer) is nn.Linear for layer in model.modules())
    got = model(inputs)
    assert torch.allclose(got, expected, atol=0.05), (got - expected).abs().max()


def test_bf16_converts_the_weights() -> None:
    model = apply_precision(nn.Linear(4, 4), "bf16")
    assert model.weight.dtype == torch.bfloat16


def test_fp32_leaves_the_model_alone_and_int8_refuses_a_gpu() -> None:
    model = nn.Linear(4, 4)
    assert apply_precision(model, "fp32") is model and type(model) is nn.Linear
    with pytest.raises(ValueError, match="CPU only"):
        apply_precision(model, "int8", device="cuda")
    with pytest.raises(ValueError, match="unknown precision"):
        apply_precision(model, "fp8")  # type: ignore[arg-type]

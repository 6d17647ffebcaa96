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


def test_auto_precision_is_bf16_only_where_the_cpu_computes_in_bf16() -> None:
    from pipeline.kernels.precision import native_cpu_bf16, resolve_precision

    assert native_cpu_bf16("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile")
    assert native_cpu_bf16("flags : fpu avx2 amx_bf16 amx_tile")
    assert not native_cpu_bf16("flags\t\t: fpu sse2 avx2 fma")  # AVX2 only: bf16 is emulated
    assert not native_cpu_bf16("")
    assert resolve_precision("auto", "cpu") == ("bf16" if native_cpu_bf16() else "fp32")
    for fixed in ("fp32", "bf16", "int8"):
        assert resolve_precision(fixed, "cpu") == fixed  # an explicit choice is kept

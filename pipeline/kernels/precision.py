"""Model precision for inference: fp32, bf16, or int8 dynamic quantisation (CPU only).

The encoders spend most of their time in linear layers. bf16 (the worker's default) runs
them on the CPU's bf16 matrix units at the same dev-set scores, with attention as batched
bf16 products a few sequences at a time (``pipeline.kernels.attention``); int8 quantises their
weights and quantises activations on the fly for the VNNI instructions, at some cost in
accuracy (both in the README's model card). The CRF stays in fp32 either way.

``auto`` (the default) is bf16 where the hardware computes in bf16 (a CPU with AVX512-BF16
or AMX, a GPU that supports it) and fp32 elsewhere: on a CPU with AVX2 alone torch
emulates bf16, and the models ran 7.2 times slower in bf16 than in fp32 on such a machine.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from pipeline.kernels.attention import use_blocked_attention

Precision = Literal["auto", "fp32", "bf16", "int8"]
PRECISIONS: tuple[Precision, ...] = ("auto", "fp32", "bf16", "int8")
# CPU flags (as /proc/cpuinfo names them) of native bf16 arithmetic.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def native_cpu_bf16(flags: str | None = None) -> bool:
    """Whether the CPU computes in bf16 natively; ``flags`` is a cpuinfo flags line (default:
    this machine's, read from /proc/cpuinfo; unreadable means no)."""
    if flags is None:
        flags = _cpu_flags()
    return bool(NATIVE_BF16_FLAGS & set(flags.split()))


@functools.cache
def _cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    return next((line for line in text.splitlines() if line.startswith("flags")), "")


def resolve_precision(precision: Precision, device: str = "cpu") -> Precision:
    """``auto`` becomes bf16 where the device computes in bf16 natively, else fp32; any
    other precision is returned as it is."""
    if precision != "auto":
        return precision
    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if native_cpu_bf16() else "fp32"


Attention = Literal["blocked", "fused"]
ATTENTIONS: tuple[Attention, ...] = ("blocked", "fused")


def add_arithmetic_arguments(parser: argparse.ArgumentParser) -> None:
    """``--precision`` and ``--attention`` for a command that runs the models, defaulting to
    the worker's arithmetic."""
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="as the worker runs it"
    )
    parser.add_argument(
        "--attention", choices=ATTENTIONS, default="blocked", help="as the worker runs it"
    )


def apply_precision(
    module: nn.Module, precision: Precision, device: str = "cpu", attention: Attention = "blocked"
) -> nn.Module:
    """Convert ``module`` in place to ``precision`` (``auto``: see ``resolve_precision``)
    and return it.

    In bf16 on the CPU, ``attention="blocked"`` switches its transformers models to
    ``pipeline.kernels.attention``; ``"fused"`` keeps PyTorch's kernel (and so does every other
    case).
    """
    if attention not in ATTENTIONS:
        raise ValueError(f"unknown attention {attention!r}; use one of {', '.join(ATTENTIONS)}")
    precision = resolve_precision(precision, device)
    if precision == "fp32":
        return module
    if precision == "bf16":
        module.to(torch.bfloat16)
        if attention == "blocked" and str(device).startswith("cpu"):
            use_blocked_attention(module)
        return module
    if precision != "int8":
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if not str(device).startswith("cpu"):
        raise ValueError("int8 dynamic quantisation runs on the CPU only; use fp32 on a GPU")
    with warnings.catch_warnings():
        # torch >= 2.10 marks torch.ao.quantization as deprecated in favour of torchao,
        # which is not a dependency here; the kernels are the same and still supported.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        # One scale per output channel: per-tensor scales cost 0.75 F1 on CoNLL dev.
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            module, {nn.Linear: qconfig}, dtype=torch.qint8, inplace=True
        )
    return module

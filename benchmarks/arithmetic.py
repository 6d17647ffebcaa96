"""The arithmetic the benchmarks compare against: FLOPs per token and measured matmul peaks.

Kept apart from ``benchmarks.bench`` so that device runs (``benchmarks/gpu_run.sh``) need
neither Kafka's client nor the broker harness.
"""

from __future__ import annotations

import time

# Linear layers of one MiniLM-L6 token: 6 layers x (4 d^2 projections + 2 d x 4d FFN) x 2 FLOPs,
# plus attention over a ~128-token window (QK^T and AV): 6 x 4 x 128 x d.
HIDDEN = 384
LINEAR_FLOPS_PER_TOKEN = 6 * 2 * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * 4 * HIDDEN)
ATTENTION_FLOPS_PER_TOKEN = 6 * 4 * 128 * HIDDEN
FLOPS_PER_TOKEN = LINEAR_FLOPS_PER_TOKEN + ATTENTION_FLOPS_PER_TOKEN


def matmul_peak_gflops(
    size: int = 1024, repeats: int = 20, dtype: str = "float32", device: str = "cpu"
) -> float:
    """The best matrix-multiply rate of this machine's CPU (torch's threads) or of the
    worker's GPU, GFLOP/s. On a GPU ``size`` is ignored: 8192-square matrices are needed
    for the card to reach its rate."""
    import torch

    kind = getattr(torch, dtype)
    on_gpu = device.startswith("cuda")
    size = 8192 if on_gpu else size
    a = torch.randn(size, size, dtype=kind, device=device)
    b = torch.randn(size, size, dtype=kind, device=device)
    best = 0.0
    for _ in range(repeats):
        if on_gpu:
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        torch.mm(a, b)
        if on_gpu:
            torch.cuda.synchronize(device)
        best = max(best, 2 * size**3 / (time.perf_counter() - started) / 1e9)
    return best

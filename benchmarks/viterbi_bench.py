"""The CRF decode on realistic shapes, NumPy against batched torch tensors, per device.

Usage (from the repository root):
    python -m benchmarks.viterbi_bench [--device cpu] [--batches 40] [--batch-size 16]

Each batch is ``--batch-size`` sentences of 60 to 120 words (ragged, as the tagger's
windows are) over the nine BIO labels. The two decoders take turns on the same batches;
the median milliseconds per batch of each are printed side by side. ``decode`` uses the
NumPy one on the CPU and the torch one on CUDA because of these figures.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pipeline.entities.crf import ConditionalRandomField, decode_paths_torch
from pipeline.entities.network import LABELS


def time_decoders(device: str, batches: int, batch_size: int, seed: int = 0) -> dict[str, float]:
    """Median ms per batch of the NumPy and the torch decode on ``device``."""
    generator = torch.Generator().manual_seed(seed)
    crf = ConditionalRandomField(LABELS)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
        transitions, start = crf._scores()
    transitions, start, end = (tensor.to(device) for tensor in (transitions, start, crf.end))
    timings: dict[str, list[float]] = {"numpy": [], "torch": []}
    for _ in range(batches):
        lengths = torch.randint(60, 121, (batch_size,), generator=generator)
        steps = int(lengths.max())
        emissions = torch.randn(batch_size, steps, len(LABELS), generator=generator)
        mask = torch.arange(steps)[None, :] < lengths[:, None]
        emissions, mask = emissions.to(device), mask.to(device)
        began = time.perf_counter()
        crf.decode(emissions.cpu(), mask.cpu())  # the NumPy path, from wherever they are
        timings["numpy"].append(time.perf_counter() - began)
        began = time.perf_counter()
        decode_paths_torch(transitions, start, end, emissions, mask)
        timings["torch"].append(time.perf_counter() - began)
    # The first batch of each warms up allocators and kernels.
    return {name: 1000 * statistics.median(values[1:]) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    medians = time_decoders(args.device, args.batches, args.batch_size)
    print(
        f"{args.device}, {args.batch_size} sentences of 60-120 words, {len(LABELS)} labels: "
        f"numpy {medians['numpy']:.2f} ms/batch, torch {medians['torch']:.2f} ms/batch "
        f"(torch threads {torch.get_num_threads()})"
    )


if __name__ == "__main__":
    main()

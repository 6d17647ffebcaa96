"""Batches for training: shuffled, of similar length, so padding stays small."""

from __future__ import annotations

import random
from collections.abc import Sequence


def group_by_length(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length, so padding stays small but order still varies."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda index: lengths[index])
        batches.extend(
            chunk[index : index + batch_size] for index in range(0, len(chunk), batch_size)
        )
    rng.shuffle(batches)
    return batches

"""Task-adaptive pre-training of the stance encoder: masked-word prediction on the training
passages before the stance head is trained (``--adapt-epochs``)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from pipeline.stance import PAIR_MAX_LENGTH, StanceNetwork
from training.batching import group_by_length, linear_schedule, pad_rows

# Masked-word adaptation (``--adapt-epochs``): batch size and learning rate of the layers.
ADAPT_BATCH_SIZE = 128
ADAPT_LEARNING_RATE = 1e-4


def adapt_to_passages(
    network: StanceNetwork,
    tokenizer: Any,
    passages: Sequence[str],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    device: str,
    rng: random.Random,
    log: Any,
) -> None:
    """Task-adaptive pre-training (Gururangan et al., 2020): masked-word prediction on the
    training passages (tweets and news sentences) before the stance head is trained.

    The backbone ships without its masked-word head, so a new one is trained beside the
    encoder's layers; its output projection is the frozen word-embedding matrix, so the
    embeddings stay the backbone's (the model ships without them). Of each passage's
    tokens 15 % are chosen: 80 % of those become [MASK], 10 % a random token, 10 % stay.
    The head is discarded afterwards. (Gradients are clipped over the encoder alone and
    weight decay applies to the head's bias too: that is how the sweep's runs were made.)
    """
    encoder = network.encoder
    hidden = int(encoder.config.hidden_size)
    words = encoder.embeddings.word_embeddings.weight
    transform = nn.Sequential(
        nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden, eps=1e-12)
    ).to(device)
    bias = nn.Parameter(torch.zeros(words.shape[0], device=device))
    encoded = tokenizer(list(passages), truncation=True, max_length=PAIR_MAX_LENGTH)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": trainable, "lr": learning_rate},
            {"params": [*transform.parameters(), bias], "lr": learning_rate * 10},
        ],
        weight_decay=0.01,
    )
    steps = epochs * math.ceil(len(encoded) / batch_size)
    scheduler = linear_schedule(optimizer, steps)
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)), device=device)
    generator = torch.Generator(device=device).manual_seed(rng.randrange(2**31))
    autocast = torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda"))
    network.train()
    for epoch in range(epochs):
        total = 0.0
        batches = group_by_length(lengths, batch_size, rng)
        for batch in batches:
            ids = pad_rows([torch.tensor(encoded[i]) for i in batch]).to(device)
            mask = (ids != tokenizer.pad_token_id).long()
            chosen = (torch.rand(ids.shape, device=device, generator=generator) < 0.15) & (
                ~torch.isin(ids, special)
            )
            if not chosen.any():
                continue
            draw = torch.rand(ids.shape, device=device, generator=generator)
            noisy = ids.clone()
            noisy[chosen & (draw < 0.8)] = tokenizer.mask_token_id
            swap = chosen & (draw >= 0.8) & (draw < 0.9)
            noisy[swap] = torch.randint(
                words.shape[0], (int(swap.sum()),), device=device, generator=generator
            )
            with autocast:
                states = encoder(input_ids=noisy, attention_mask=mask).last_hidden_state
                predicted = transform(states[chosen]) @ words.t() + bias
            loss = nn.functional.cross_entropy(predicted.float(), ids[chosen])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            total += float(loss.detach())
        mean = total / max(1, len(batches))
        log(f"adaptation epoch {epoch + 1}/{epochs}, masked-word loss {mean:.3f}")

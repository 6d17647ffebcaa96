"""A BERT small enough to build inside a test."""

from __future__ import annotations

from typing import Any

from transformers import BertConfig


def tiny_bert_config(
    *, vocab_size: int = 50, layers: int = 1, heads: int = 4, **extra: Any
) -> BertConfig:
    """Hidden size 32; ``vocab_size=30522`` fits the backbone's tokenizer."""
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=64,
        **extra,
    )

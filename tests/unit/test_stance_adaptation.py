"""Hashtag splitting, masked-word adaptation and fp32 loading of the stance backbone."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertModel

from pipeline.kernels import backbone
from pipeline.kernels.backbone import base_model_dir
from pipeline.stance import StanceNetwork, load_backbone, split_hashtags
from tests.tiny_bert import tiny_bert_config
from training.stance_adaptation import adapt_to_passages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#RidinWithBiden2020 tonight", "#Ridin With Biden 2020 tonight"),
        ("#MAGA and #KAG2020", "#MAGA and #KAG 2020"),
        ("#JoeBiden!", "#Joe Biden!"),
        ("#nevertrump", "#nevertrump"),  # no case change: no evidence of word boundaries
        ("#Joe_Biden", "#Joe_Biden"),
        ("no tags at all, 3 #", "no tags at all, 3 #"),
        ("##BillsFans", "##Bills Fans"),
    ],
)
def test_split_hashtags(text: str, expected: str) -> None:
    assert split_hashtags(text) == expected


def _tiny_network() -> StanceNetwork:
    torch.manual_seed(0)
    config = tiny_bert_config(vocab_size=30522, layers=2)
    return StanceNetwork(BertModel(config, add_pooling_layer=False), 0)


def test_adaptation_learns_the_passages_and_leaves_the_embeddings() -> None:
    network = _tiny_network()
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir()))
    embeddings = network.encoder.embeddings.word_embeddings.weight.detach().clone()
    layer = network.encoder.encoder.layer[0].output.dense.weight.detach().clone()
    passages = ["The minister said the summit would go ahead in Vienna next week."] * 16
    messages: list[str] = []
    adapt_to_passages(
        network,
        tokenizer,
        passages,
        epochs=20,
        batch_size=8,
        learning_rate=3e-3,
        device="cpu",
        rng=random.Random(1),
        log=messages.append,
    )
    losses = [float(message.rsplit(" ", 1)[1]) for message in messages]
    assert len(losses) == 20 and losses[-1] < losses[0] - 1.0
    assert torch.equal(network.encoder.embeddings.word_embeddings.weight, embeddings)
    assert not torch.equal(network.encoder.encoder.layer[0].output.dense.weight, layer)


def test_a_half_precision_backbone_loads_in_fp32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    _tiny_network().encoder.half().save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(base_model_dir())).save_pretrained(folder)
    monkeypatch.setattr(backbone, "base_model_dir", lambda: folder)
    encoder, _ = load_backbone()
    assert next(encoder.parameters()).dtype == torch.float32
    assert next(backbone.load_backbone().parameters()).dtype == torch.float32

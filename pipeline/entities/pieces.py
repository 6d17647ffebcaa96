"""How sentences become the tagger's input: word pieces, letter case, shapes, windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

# Pieces one encoder window holds, [CLS] and [SEP] included: long enough for neighbouring
# sentences as context, short enough that attention stays cheap on a laptop CPU.
WINDOW_PIECES = 128
# A pathological "word" (a URL, a run of symbols) must not fill a window on its own.
MAX_PIECES_PER_WORD = 8
UNKNOWN_SHAPE = "<unk>"

# Letter-case classes of a word piece, read from the original (cased) characters.
CASE_SPECIAL, CASE_NO_LETTERS, CASE_LOWER, CASE_TITLE, CASE_UPPER, CASE_MIXED = range(6)
CASE_CLASSES = 6


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

"""CoNLL-2003 files: reading documents, writing predictions and conlleval-style span scoring."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DOCUMENT_START = "-DOCSTART-"


@dataclass(frozen=True)
class Sentence:
    """One sentence: its tokens and their gold IOB tags (``O`` when the file has none)."""

    tokens: list[str]
    tags: list[str]


@dataclass(frozen=True)
class Document:
    """Sentences that belong together; CoNLL marks them with a ``-DOCSTART-`` line."""

    sentences: list[Sentence] = field(default_factory=list)


@dataclass(frozen=True)
class Span:
    """An entity as conlleval counts it: a type and a half-open token range."""

    type: str
    start: int
    end: int


class ConllFormatError(ValueError):
    """A line of a CoNLL file that cannot be read as ``TOKEN ... TAG``."""


def read_conll(path: Path) -> list[Document]:
    """Read a CoNLL file into documents of sentences.

    The token is the first column and the tag the last, so 2-column (``token tag``) and
    4-column (``token pos chunk tag``) files both read. A file without ``-DOCSTART-``
    lines is one document.
    """
    documents: list[Document] = []
    current: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []

    def end_sentence() -> None:
        if tokens:
            current.append(Sentence(tokens=list(tokens), tags=list(tags)))
            tokens.clear()
            tags.clear()

    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            columns = line.split()
            if not columns:
                end_sentence()
                continue
            if columns[0] == DOCUMENT_START:
                end_sentence()
                if current:
                    documents.append(Document(sentences=current))
                current = []
                continue
            if len(columns) < 2:
                raise ConllFormatError(
                    f"{path}:{number}: expected 'TOKEN ... TAG', got {line.strip()!r}"
                )
            tag = columns[-1]
            if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
                raise ConllFormatError(f"{path}:{number}: {tag!r} is not an IOB tag")
            tokens.append(columns[0])
            tags.append(tag)
    end_sentence()
    if current:
        documents.append(Document(sentences=current))
    return documents


def write_predictions(
    path: Path, sentences: Iterable[Sentence], predicted: Iterable[Sequence[str]]
) -> None:
    """Write ``token gold predicted`` lines, a blank line after each sentence (conlleval input)."""
    with path.open("w", encoding="utf-8") as handle:
        for sentence, tags in zip(sentences, predicted, strict=True):
            for token, gold, guess in zip(sentence.tokens, sentence.tags, tags, strict=True):
                handle.write(f"{token} {gold} {guess}\n")
            handle.write("\n")


def extract_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans of one sentence, read the way conlleval reads them.

    An ``I-X`` that follows ``O`` or another type opens a new entity, as in conlleval,
    so an invalid sequence is scored rather than rejected.
    """
    spans: list[Span] = []
    open_type: str | None = None
    open_start = 0
    for index, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        continues = prefix == "I" and kind == open_type
        if open_type is not None and not continues:
            spans.append(Span(open_type, open_start, index))
            open_type = None
        if prefix in ("B", "I") and not continues:
            open_type, open_start = kind, index
    if open_type is not None:
        spans.append(Span(open_type, open_start, len(tags)))
    return spans


@dataclass(frozen=True)
class Counts:
    """Entity counts behind precision and recall."""

    correct: int = 0
    predicted: int = 0
    gold: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.correct + other.correct,
            self.predicted + other.predicted,
            self.gold + other.gold,
        )

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score_spans(
    gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]]
) -> dict[str, object]:
    """Entity-level micro precision, recall and F1, and the same per entity type.

    An entity counts as correct only when type, first and last token all match (conlleval).
    """
    by_type: dict[str, Counts] = {}
    tokens = 0
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(
                f"a sentence has {len(gold_tags)} gold tags but {len(predicted_tags)} predicted"
            )
        tokens += len(gold_tags)
        gold_spans = set(extract_spans(gold_tags))
        predicted_spans = set(extract_spans(predicted_tags))
        for span in gold_spans | predicted_spans:
            counts = Counts(
                correct=int(span in gold_spans and span in predicted_spans),
                predicted=int(span in predicted_spans),
                gold=int(span in gold_spans),
            )
            by_type[span.type] = by_type.get(span.type, Counts()) + counts
    total = sum(by_type.values(), Counts())
    return {
        "precision": total.precision,
        "recall": total.recall,
        "f1": total.f1,
        "tokens": tokens,
        "gold_entities": total.gold,
        "predicted_entities": total.predicted,
        "per_type": {
            kind: {
                "precision": counts.precision,
                "recall": counts.recall,
                "f1": counts.f1,
                "gold": counts.gold,
            }
            for kind, counts in sorted(by_type.items())
        },
    }

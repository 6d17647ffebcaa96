"""Readers of the news stance data sets (NewsMTSC, directed sentiment, GWSD, Emergent, VAST,
PerSenT), each in its own file format, mapped onto the shared stance labels.

Label mapping
-------------
==================  ==========================  ==========================================
data set            its label                   shared label (and how the pair is built)
==================  ==========================  ==========================================
NewsMTSC            ``6.0`` / ``2.0`` / ``4.0``  favor / against / neutral; the target's
                                                mention is bracketed in its sentence and
                                                the pair's first segment is the mention
directed sentiment  ``1`` / ``3``               entity 1 holds favor / against toward
                                                entity 2 (holder in braces, target in
                                                brackets); entity 2 -> entity 1 is neutral
                    ``2`` / ``4``               the same with the entities swapped
                    ``0``                       neutral in both directions
GWSD                ``agree`` / ``disagree`` /  favor / against / neutral toward "Climate
                    ``neutral`` (the largest    change is a serious concern"; screening
                    of its probabilities)       rows (no probabilities) are skipped
Emergent            ``for`` / ``against`` /     favor / against / neutral; the claim is the
                    ``observing``               target, the article headline the passage
VAST (dev only)     ``1`` / ``0`` / ``2``       favor (pro) / against (con) / neutral
PerSenT (dev only)  ``Positive`` / ``Negative``  favor / against / neutral toward the main
                    / ``Neutral``               entity, over the whole document
==================  ==========================  ==========================================

Each directed-sentiment row becomes two pairs, one per direction, so the rare reverse
classes (entity 2 toward entity 1) are learnt as the same thing as the common ones.
The marking follows ``pipeline.stance.marking``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.stance.labels import AGAINST, FAVOR, NEUTRAL
from pipeline.stance.marking import mark_holder_and_target, mark_target
from training.stance_data import StanceDataError, StanceExample, is_dev_group

GWSD_TARGET = "Climate change is a serious concern"
NEWSMTSC_LABELS: tuple[str, ...] = ("2.0", "4.0", "6.0")
DIRECTED_LABELS: tuple[str, ...] = ("0", "1", "2", "3", "4")
GWSD_LABELS: tuple[str, ...] = ("agree", "disagree", "neutral")
EMERGENT_LABELS: tuple[str, ...] = ("for", "against", "observing")
VAST_LABELS: tuple[str, ...] = ("0", "1", "2")
PERSENT_LABELS: tuple[str, ...] = ("Positive", "Negative", "Neutral")

_NEWSMTSC_TO_SHARED = {2.0: AGAINST, 4.0: NEUTRAL, 6.0: FAVOR}
_GWSD_TO_SHARED = {"agree": FAVOR, "disagree": AGAINST, "neutral": NEUTRAL}
_EMERGENT_TO_SHARED = {"for": FAVOR, "against": AGAINST, "observing": NEUTRAL}
_VAST_TO_SHARED = {"1": FAVOR, "0": AGAINST, "2": NEUTRAL}
# Directed labels: (shared label of entity 1 -> entity 2, of entity 2 -> entity 1).
_DIRECTED_TO_SHARED = {
    "0": (NEUTRAL, NEUTRAL),
    "1": (FAVOR, NEUTRAL),
    "2": (NEUTRAL, FAVOR),
    "3": (AGAINST, NEUTRAL),
    "4": (NEUTRAL, AGAINST),
}
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")


def _rows(path: Path, delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from enumerate(csv.DictReader(handle, delimiter=delimiter), start=2)
    except FileNotFoundError as error:
        raise StanceDataError(f"{path}: no such file; check the path") from error


def _column(path: Path, number: int, row: dict[str, str], name: str) -> str:
    value = row.get(name)
    if value is None:
        raise StanceDataError(f"{path}:{number}: no column {name!r}; is this the right format?")
    return value


def read_newsmtsc(path: Path) -> list[StanceExample]:
    """One example per target, lines in order and targets in order; ``gold`` is the
    polarity as written in the file (``2.0``, ``4.0``, ``6.0``)."""
    examples: list[StanceExample] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as error:
        raise StanceDataError(f"{path}: no such file; check the path") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            # parse_float=str keeps the polarity exactly as written ("2.0").
            record = json.loads(line, parse_float=str)
            sentence = record["sentence_normalized"]
            targets = record["targets"]
        except (ValueError, KeyError, TypeError) as error:
            raise StanceDataError(f"{path}:{number}: not a NewsMTSC line ({error})") from error
        for target in targets:
            try:
                start, end, polarity = int(target["from"]), int(target["to"]), target["polarity"]
            except (KeyError, TypeError, ValueError) as error:
                raise StanceDataError(f"{path}:{number}: target lacks from/to/polarity") from error
            label = _NEWSMTSC_TO_SHARED.get(float(polarity))
            if label is None or not 0 <= start < end <= len(sentence):
                raise StanceDataError(f"{path}:{number}: bad target {target!r}")
            mention = sentence[start:end]
            examples.append(
                StanceExample(
                    target=mention,
                    passage=mark_target(sentence, [(start, end)]),
                    label=label,
                    gold=str(polarity),
                    source="newsmtsc",
                    group=str(record.get("primary_gid", number)),
                )
            )
    return examples


@dataclass(frozen=True)
class DirectedRow:
    """One directed-sentiment row: the sentence without brackets and its two entities."""

    sentence: str
    first: tuple[int, int]
    second: tuple[int, int]
    label: str


def parse_directed_sentence(marked: str) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """The sentence without its two ``[...]`` marks and the spans of entity 1 and 2."""
    spans: list[tuple[int, int]] = []
    pieces: list[str] = []
    position = 0
    length = 0
    for match in _BRACKETED.finditer(marked):
        before = marked[position : match.start()]
        pieces.append(before)
        length += len(before)
        spans.append((length, length + len(match.group(1))))
        pieces.append(match.group(1))
        length += len(match.group(1))
        position = match.end()
    pieces.append(marked[position:])
    text = "".join(pieces)
    if len(spans) != 2 or "[" in text or "]" in text:
        raise StanceDataError(f"expected exactly two [entities] in {marked[:80]!r}")
    return text, spans[0], spans[1]


def read_directed_rows(path: Path) -> list[DirectedRow]:
    """Rows of ``sentence<TAB>entity 1<TAB>entity 2<TAB>label`` (no header), in file order."""
    rows: list[DirectedRow] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            records = list(csv.reader(handle, delimiter="\t"))
    except FileNotFoundError as error:
        raise StanceDataError(f"{path}: no such file; check the path") from error
    for number, record in enumerate(records, start=1):
        if len(record) != 4 or record[3].strip() not in _DIRECTED_TO_SHARED:
            raise StanceDataError(f"{path}:{number}: expected 4 fields ending in a label 0-4")
        try:
            sentence, first, second = parse_directed_sentence(record[0])
        except StanceDataError as error:
            raise StanceDataError(f"{path}:{number}: {error}") from None
        if first[0] == first[1] or second[0] == second[1]:
            raise StanceDataError(f"{path}:{number}: an entity in brackets is empty")
        rows.append(DirectedRow(sentence, first, second, record[3].strip()))
    return rows


def directed_examples(rows: Sequence[DirectedRow]) -> list[StanceExample]:
    """Two examples per row, entity 1 as holder first, then entity 2 as holder."""
    examples: list[StanceExample] = []
    for number, row in enumerate(rows):
        forward, backward = _DIRECTED_TO_SHARED[row.label]
        for direction, (holder, target, label) in enumerate(
            ((row.first, row.second, forward), (row.second, row.first, backward))
        ):
            examples.append(
                StanceExample(
                    target=row.sentence[target[0] : target[1]],
                    passage=mark_holder_and_target(row.sentence, [holder], [target]),
                    label=label,
                    gold=row.label,
                    source="directed",
                    group=f"{number}:{direction}",
                )
            )
    return examples


def read_directed(path: Path) -> list[StanceExample]:
    """The directed-sentiment file as pairs, two per row (see ``directed_examples``)."""
    return directed_examples(read_directed_rows(path))


def read_gwsd(path: Path) -> list[StanceExample]:
    """Labelled GWSD rows in file order (screening rows skipped); ``gold`` is the largest
    of ``agree``, ``disagree`` and ``neutral`` (ties: that order)."""
    examples: list[StanceExample] = []
    for number, row in _rows(path, "\t"):
        sentence = _column(path, number, row, "sentence")
        values = [_column(path, number, row, name).strip() for name in GWSD_LABELS]
        if not any(values):
            continue  # a screening sentence: no probabilities
        try:
            probabilities = [float(value) for value in values]
        except ValueError as error:
            raise StanceDataError(f"{path}:{number}: probabilities {values}") from error
        gold = GWSD_LABELS[max(range(3), key=probabilities.__getitem__)]
        # Grouped by sentence: a few sentences occur twice under different guids.
        examples.append(
            StanceExample(
                GWSD_TARGET, sentence.strip(), _GWSD_TO_SHARED[gold], gold, "gwsd", sentence.strip()
            )
        )
    return examples


def read_emergent(path: Path) -> list[StanceExample]:
    """Emergent rows in file order: the claim is the target, the article headline the passage;
    ``group`` is the claim id (dev splits are carved by claim)."""
    examples: list[StanceExample] = []
    for number, row in _rows(path):
        claim = _column(path, number, row, "claimHeadline").strip()
        headline = _column(path, number, row, "articleHeadline").strip()
        gold = _column(path, number, row, "articleHeadlineStance").strip()
        if gold not in _EMERGENT_TO_SHARED:
            raise StanceDataError(f"{path}:{number}: unknown stance {gold!r}")
        group = (row.get("claimId") or "").strip() or claim
        examples.append(
            StanceExample(claim, headline, _EMERGENT_TO_SHARED[gold], gold, "emergent", group)
        )
    return examples


def read_vast(path: Path) -> list[StanceExample]:
    """VAST rows (``Tweet,Target,Stance,seen?``) in file order; ``group`` is ``seen?``."""
    examples: list[StanceExample] = []
    for number, row in _rows(path):
        text = _column(path, number, row, "Tweet").strip()
        topic = _column(path, number, row, "Target").strip()
        gold = _column(path, number, row, "Stance").strip()
        if gold not in _VAST_TO_SHARED:
            raise StanceDataError(f"{path}:{number}: unknown stance {gold!r}")
        seen = (row.get("seen?") or "").strip()
        examples.append(StanceExample(topic, text, _VAST_TO_SHARED[gold], gold, "vast", seen))
    return examples


@dataclass(frozen=True)
class PersentDocument:
    """One PerSenT document: its main entity and the author's sentiment toward it."""

    index: str
    title: str
    entity: str
    text: str
    gold: str


def read_persent(path: Path) -> list[PersentDocument]:
    """PerSenT documents in file order."""
    documents: list[PersentDocument] = []
    for number, row in _rows(path):
        gold = _column(path, number, row, "TRUE_SENTIMENT").strip()
        if gold not in PERSENT_LABELS:
            raise StanceDataError(f"{path}:{number}: unknown sentiment {gold!r}")
        documents.append(
            PersentDocument(
                index=_column(path, number, row, "DOCUMENT_INDEX").strip(),
                title=_column(path, number, row, "TITLE"),
                entity=_column(path, number, row, "TARGET_ENTITY").strip(),
                text=_column(path, number, row, "DOCUMENT"),
                gold=gold,
            )
        )
    return documents


def carve_dev(
    examples: Sequence[StanceExample], dev_share: int
) -> tuple[list[StanceExample], list[StanceExample]]:
    """Split by group hash into (train, dev); a whole claim or sentence goes to one side."""
    train = [example for example in examples if not is_dev_group(example.group, dev_share)]
    dev = [example for example in examples if is_dev_group(example.group, dev_share)]
    return train, dev

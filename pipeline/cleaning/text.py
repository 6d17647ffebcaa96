"""Text normalisation and sentence spans: the plain-text primitives every cleaning step uses."""

from __future__ import annotations

import html
import re
import unicodedata

from schemas import Block

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[^\S\n]+")
SENTENCE_END = re.compile("([.!?\u2026][\"'\u201d\u2019)\\]]*|[\u3002\uff01\uff1f\u300d])$")
# A sentence ends at . ! ? followed by space and an opening capital, digit or quote.
_SENTENCE_BREAK = re.compile(
    "(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*\\s+"
    "(?=[\"'\u201c\u2018(\\[]?[A-Z0-9\u00c0-\u00d6\u00d8-\u00de\u0410-\u042f])"
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st gen col lt sen rep gov jr sr inc ltd co corp no vs etc "
    "u.s u.k u.n e.u jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def normalize_text(text: str) -> str:
    """NFC, HTML entities decoded, zero-width and control characters gone, spaces collapsed."""
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def split_sentences(text: str, blocks: list[Block]) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``; no sentence crosses a block boundary."""
    spans: list[tuple[int, int]] = []
    for block in blocks:
        spans.extend(_sentences_between(text, block.start, block.end))
    return spans


def split_text_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of plain text, each line read as a block (the way
    the worker splits a clean article), without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            first = start + line.index(stripped)
            spans.extend(_sentences_between(text, first, first + len(stripped)))
        start += len(line) + 1
    return spans


def _sentences_between(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]``: a break after . ! ? that no abbreviation
    ("Mr.", "U.S.", an initial) explains."""
    spans: list[tuple[int, int]] = []
    for match in _SENTENCE_BREAK.finditer(text, start, end):
        cut = match.start()
        last_word = text[start:cut].rsplit(None, 1)[-1].rstrip(".").casefold()
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue
        spans.append((start, cut))
        start = match.end()
    if start < end:
        spans.append((start, end))
    return spans

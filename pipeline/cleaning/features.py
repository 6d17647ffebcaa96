"""Line features for the text classifier: each line's shape, its words, its neighbours, its place.

A story is a contiguous run of long, sentence-like lines written in function words; page
furniture is short, capitalised, separator-heavy lines made of interface words, in runs.
Every feature is a number in about [0, 1] so one set of weights reads them all.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pipeline.cleaning.text import SENTENCE_END
from pipeline.cleaning.vocabulary import FUNCTION_WORDS, INTERFACE_WORDS, MONTHS

OWN_FEATURES = (
    "chars",
    "words",
    "sentence_end",
    "sentences",
    "commas",
    "capitalised",
    "all_caps",
    "digits",
    "separators",
    "bullet_start",
    "function_words",
    "interface_words",
    "interface_first",
    "link",
    "date",
    "bracketed",
    "colon_end",
    "quote_start",
    "page_repeats",
    "title_echo",
    "rule",
    "learned",
)
# Neighbour features: these own features of the previous and next line.
NEIGHBOUR_OWN = ("words", "sentence_end", "function_words", "interface_words", "rule")
CONTEXT_FEATURES = (
    "position",
    "edge",
    "prose",
    "in_main_run",
    "main_run_distance",
    "prose_window",
    "words_window",
    "short_run",
    "after_title",
    "title_found",
    "page_lines",
    *(f"prev_{name}" for name in (*NEIGHBOUR_OWN, "prose")),
    *(f"next_{name}" for name in (*NEIGHBOUR_OWN, "prose")),
)
FEATURES = OWN_FEATURES + CONTEXT_FEATURES

_WORD = re.compile(r"\w+")
_SEPARATOR = re.compile(r"(?:^|\s)[|>\u2022\u00b7\u00bb\u203a/\u2013\u2014\-:+](?=\s|$)")
_BULLET = re.compile(r"^([\u2022\u00b7\u25aa\u25cf\u2013\u2014\-*\u203a>]|\d{1,2}[.)])\s")
_LINK = re.compile(r"https?://|www\.|\S@\S+\.\w|(^|\s)[@#]\w")
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b(19|20)\d{2}\b")
# Han, kana, Hangul and Thai: scripts that put no spaces between words.
_UNSPACED = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e"
_SENTENCE_STOP = re.compile("[.!?\u2026][\"'\u201d\u2019)]*\\s|[\u3002\uff01\uff1f]")
_INDEX = {name: i for i, name in enumerate(FEATURES)}
_WINDOW = 3


def word_count(line: str) -> int:
    """Words of a line; in scripts written without spaces, every two characters count as one."""
    spaced = len(line.split())
    wide = len(_UNSPACED.findall(line))
    return max(spaced, spaced + wide // 2) if wide else spaced


def _shape(line: str, counts: Counter[str], title: str) -> list[float]:
    words = line.split()
    tokens = [t.casefold() for t in _WORD.findall(line)]
    n_words = word_count(line)
    n_tokens = max(1, len(tokens))
    alpha = [w for w in words if w[:1].isalpha()]
    letters = [c for c in line if c.isalpha()]
    return [
        min(1.0, math.log1p(len(line)) / 6),
        min(1.0, math.log1p(n_words) / 5),
        float(bool(SENTENCE_END.search(line))),
        min(4, len(_SENTENCE_STOP.findall(line))) / 4,
        min(1.0, (line.count(",") + line.count(";")) / max(1, n_words) * 4),
        sum(w[0].isupper() for w in alpha) / len(alpha) if alpha else 0.0,
        float(len(letters) >= 3 and all(c.isupper() for c in letters)),
        min(1.0, sum(c.isdigit() for c in line) / max(1, len(line)) * 4),
        min(4, len(_SEPARATOR.findall(line))) / 4,
        float(bool(_BULLET.match(line))),
        sum(t in FUNCTION_WORDS for t in tokens) / n_tokens,
        sum(t in INTERFACE_WORDS for t in tokens) / n_tokens,
        float(bool(tokens) and tokens[0] in INTERFACE_WORDS),
        float(bool(_LINK.search(line))),
        float(bool(_CLOCK.search(line)) or any(t in MONTHS for t in tokens[:8])),
        float(line[:1] in "([" and line[-1:] in ")]"),
        float(line.endswith(":")),
        float(line[:1] in _QUOTES),
        float(counts[line.casefold()] > 1),
        float(line.casefold() == title),
    ]


def _main_run(prose: Sequence[bool], words: Sequence[int]) -> tuple[int, int]:
    """The span of lines with the most prose words net of the furniture inside it."""
    best, best_span = 0.0, (0, 0)
    total, start = 0.0, 0
    for i, (is_prose, count) in enumerate(zip(prose, words, strict=True)):
        gain = float(count) if is_prose else -3.0 - 0.5 * min(count, 20)
        if total <= 0:
            total, start = 0.0, i
        total += gain
        if total > best:
            best, best_span = total, (start, i + 1)
    return best_span


def line_features(
    lines: Sequence[str],
    *,
    title: str = "",
    rule_hits: Sequence[bool] | None = None,
    learned_hits: Sequence[bool] | None = None,
) -> npt.NDArray[np.float64]:
    """One row of ``FEATURES`` per line."""
    n = len(lines)
    matrix = np.zeros((n, len(FEATURES)))
    if n == 0:
        return matrix
    counts = Counter(line.casefold() for line in lines)
    folded_title = title.casefold()
    own = len(OWN_FEATURES)
    for i, line in enumerate(lines):
        matrix[i, : own - 2] = _shape(line, counts, folded_title)
    if rule_hits is not None:
        matrix[:, _INDEX["rule"]] = rule_hits
    if learned_hits is not None:
        matrix[:, _INDEX["learned"]] = learned_hits
    word_counts = [word_count(line) for line in lines]
    prose = [
        count >= 10 and (matrix[i, _INDEX["function_words"]] >= 0.12 or count >= 25)
        for i, count in enumerate(word_counts)
    ]
    start, end = _main_run(prose, word_counts)
    positions = np.arange(n)
    matrix[:, _INDEX["position"]] = positions / max(1, n - 1)
    matrix[:, _INDEX["page_lines"]] = min(1.0, math.log1p(n) / 6)
    matrix[:, _INDEX["edge"]] = np.minimum(positions, n - 1 - positions) < 3
    matrix[:, _INDEX["prose"]] = prose
    matrix[:, _INDEX["in_main_run"]] = (positions >= start) & (positions < end)
    outside = np.maximum(start - positions, positions - (end - 1)).clip(min=0)
    matrix[:, _INDEX["main_run_distance"]] = np.minimum(1.0, np.log1p(outside) / 4)
    matrix[:, _INDEX["prose_window"]] = window_mean(np.asarray(prose, dtype=np.float64), _WINDOW)
    matrix[:, _INDEX["words_window"]] = window_mean(matrix[:, _INDEX["words"]], _WINDOW)
    echoes = np.flatnonzero(matrix[:, _INDEX["title_echo"]])
    if len(echoes):
        matrix[:, _INDEX["title_found"]] = 1.0
        after = positions - echoes[0]
        matrix[:, _INDEX["after_title"]] = np.where(
            after > 0, 1.0 - np.minimum(1.0, np.log1p(np.abs(after)) / 4), 0.0
        )
    matrix[:, _INDEX["short_run"]] = _short_runs(word_counts)
    for name in (*NEIGHBOUR_OWN, "prose"):
        column = matrix[:, _INDEX[name]]
        matrix[1:, _INDEX[f"prev_{name}"]] = column[:-1]
        matrix[:-1, _INDEX[f"next_{name}"]] = column[1:]
    return matrix


def beside_rule_hits(hits: Sequence[bool]) -> tuple[list[int], list[bool]]:
    """The lines no rule removed, and for each whether a removed line sat next to it.

    The classifier reads the body as it stands once the rules have spoken, so a heading
    between two ad placeholders is not taken for a run of short menu lines.
    """
    kept = [i for i, hit in enumerate(hits) if not hit]
    n = len(hits)
    flags = [(i > 0 and hits[i - 1]) or (i + 1 < n and hits[i + 1]) for i in kept]
    return kept, flags


def window_mean(values: npt.NDArray[np.float64], reach: int) -> npt.NDArray[np.float64]:
    """The mean of ``values`` over each position and ``reach`` positions either side."""
    n = len(values)
    sums = np.concatenate(([0.0], np.cumsum(values)))
    low = np.clip(np.arange(n) - reach, 0, n)
    high = np.clip(np.arange(n) + reach + 1, 0, n)
    result: npt.NDArray[np.float64] = (sums[high] - sums[low]) / (high - low)
    return result


def _short_runs(word_counts: Sequence[int]) -> list[float]:
    """For each line, how long the run of short (at most four-word) lines it sits in is."""
    runs = [0.0] * len(word_counts)
    i = 0
    while i < len(word_counts):
        j = i
        while j < len(word_counts) and word_counts[j] <= 4:
            j += 1
        if j > i:
            value = min(1.0, math.log1p(j - i) / 3)
            runs[i:j] = [value] * (j - i)
            i = j
        else:
            i += 1
    return runs

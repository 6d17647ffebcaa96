"""Per-source memory of lines: a line that recurs across many articles of one source is boilerplate.

The counts live wherever the caller keeps them (the worker keeps them in a compacted Kafka
topic so they survive restarts). Reads happen while cleaning; new sightings are collected
and handed back with ``drain`` so the caller can write them from its own thread.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, MutableMapping

# Only lines near the top or bottom of a body are candidates: that is where site furniture
# sits, and it keeps the memory small (a few keys per article, not one per sentence).
EDGE_LINES = 6
MAX_WORDS = 80


def line_key(source: str, line: str) -> str:
    """The memory key of a line of a source: stable, short, and case-insensitive."""
    digest = hashlib.blake2b(line.casefold().encode(), digest_size=8).hexdigest()
    return f"{source.casefold()}|{digest}"


def candidate_lines(lines: list[str]) -> list[str]:
    """The distinct lines of a body that could be learned as boilerplate."""
    edges = lines[:EDGE_LINES] + lines[-EDGE_LINES:]
    return list(dict.fromkeys(line for line in edges if len(line.split()) <= MAX_WORDS))


class LineMemory:
    """Says which lines a source has repeated in at least ``threshold`` earlier articles.

    ``counts`` maps line keys to the number of articles seen with that line. With
    ``autocommit`` new sightings go straight into it; without, they wait for ``drain``, for
    stores that must only be written from their own event loop.
    """

    def __init__(
        self, counts: MutableMapping[str, int], *, threshold: int, autocommit: bool = True
    ) -> None:
        self.counts = counts
        self.threshold = threshold
        self.autocommit = autocommit
        self._pending: Counter[str] = Counter()

    def learned(self, source: str, lines: Iterable[str]) -> set[str]:
        """The lines of ``lines`` already known as boilerplate of ``source``."""
        return {line for line in lines if self._seen(line_key(source, line)) >= self.threshold}

    def remember(self, source: str, lines: Iterable[str]) -> None:
        """Count one more sighting of each line for ``source`` (each article counts once)."""
        for key in {line_key(source, line) for line in lines}:
            if self.autocommit:
                self.counts[key] = self.counts.get(key, 0) + 1
            else:
                self._pending[key] += 1

    def drain(self) -> Counter[str]:
        """The sightings collected since the last drain, to add to the stored counts."""
        pending, self._pending = self._pending, Counter()
        return pending

    def _seen(self, key: str) -> int:
        return self.counts.get(key, 0) + self._pending[key]

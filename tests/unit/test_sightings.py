"""Per-source line counts stay bounded: the rarest, then the oldest, are dropped first."""

from __future__ import annotations

from agents.sightings import SightingsBook, _apply


def test_the_book_never_holds_more_than_its_cap_and_drops_rare_old_keys_first() -> None:
    book = SightingsBook({}, max_keys=100)
    for n in range(100):
        book.record({f"site|common {n % 5}": 1})  # five lines seen twenty times each
    writes = []
    for n in range(1000):
        writes += book.record({f"site|once {n}": 1})
        assert len(book.counts) <= 100
    assert all(book.counts[f"site|common {n}"] == 20 for n in range(5))
    survivors = {key for key in book.counts if "once" in key}
    # The newest of the rare keys survive; the oldest went first.
    assert "site|once 999" in survivors and "site|once 0" not in survivors
    tombstones = [key for key, value in writes if value is None]
    assert len(tombstones) == book.evicted > 900
    assert all(key.decode() not in book.counts for key in tombstones)


def test_loading_applies_tombstones_and_keeps_the_largest_count_newest_last() -> None:
    counts: dict[str, int] = {}
    for key, value in [(b"a", b"3"), (b"b", b"1"), (b"a", b"2"), (b"c", b"x"), (b"b", None)]:
        _apply(counts, key, value, "t")
    assert counts == {"a": 3}
    _apply(counts, b"d", b"1", "t")
    _apply(counts, b"a", b"4", "t")
    assert list(counts) == ["d", "a"]

"""The command-line reader shows any record of a topic; none stops it."""

from __future__ import annotations

from types import SimpleNamespace

from agents.clients import readable
from agents.display import render_event


def record(value: bytes | None, key: bytes | None = b"k") -> SimpleNamespace:
    return SimpleNamespace(value=value, key=key, topic="articles.enriched", partition=1, offset=5)


def test_tombstones_and_foreign_values_are_shown_as_such() -> None:
    for value, why in [
        (None, "tombstone"),
        (b"\xff\xfe garbage", "not JSON"),
        (b"[1, 2]", "not an object"),
    ]:
        shown = render_event(readable(record(value)))
        assert shown.startswith("UNREADABLE  articles.enriched[1]@5") and why in shown, shown
    assert "not a stancewire record" in render_event(readable(record(b'{"hello": 1}')))
    assert readable(record(b'{"stage": "decode"}')) == {"stage": "decode"}

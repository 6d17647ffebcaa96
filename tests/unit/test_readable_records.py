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


def _event(stance: dict[str, object]) -> dict[str, object]:
    return {
        "id": "a-1",
        "title": "Port levy vote",
        "blocks": [],
        "sentences": [],
        "removed": [],
        "entities": [],
        "stances": [stance],
        "processing": {"stages": ["clean", "stance"], "timings_ms": {"total": 3.0}},
    }


def test_holders_views_are_shown_and_version_1_events_still_read() -> None:
    evidence = [{"text": "Berg said the levy was a mistake.", "holder": "Anna Berg"}]
    stance = {"target": "port levy", "label": "against", "score": 0.7, "evidence": evidence}
    views = [
        {"holder": "Anna Berg", "label": "against", "score": 0.71, "evidence": [0]},
        {"holder": None, "label": "neutral", "score": 0.8, "evidence": [1]},
    ]
    shown = render_event(_event({**stance, "views": views}))
    assert "stance toward port levy: against (0.70); views: Anna Berg against (0.71)" in shown
    assert "held by Anna Berg" in render_event(_event(stance))

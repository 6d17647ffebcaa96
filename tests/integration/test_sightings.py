"""Per-source line counts: a start-up read that scales, and a cap that the topic follows."""

from __future__ import annotations

import time

import pytest

from agents.broker import LocalBroker
from agents.clients import make_producer
from agents.security import client_options
from agents.sightings import SightingsBook, load_counts, sightings_topic
from tests.integration.conftest import fresh_settings

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_a_large_count_topic_loads_whole_and_evictions_stay_evicted(broker: LocalBroker) -> None:
    settings = fresh_settings(broker.bootstrap)
    topic = sightings_topic(settings)
    producer = make_producer(client_options(settings))
    records = 150_000
    for number in range(records):
        producer.send(topic, key=f"site-{number % 300}|line {number}".encode(), value=b"1")
    producer.flush(timeout=120)
    started = time.monotonic()
    counts = load_counts(settings)
    seconds = time.monotonic() - started
    assert len(counts) == records
    # A worker with a smaller cap drops the rarest and oldest and writes tombstones for them.
    book = SightingsBook(counts, max_keys=10_000)
    writes = book.record({"site-299|line 149999": 4})
    for key, value in writes:
        producer.send(topic, key=key, value=value)
    producer.flush(timeout=120)
    producer.close()
    again = load_counts(settings)
    assert len(again) == len(book.counts) <= 10_000
    assert again["site-299|line 149999"] == 5
    assert "site-0|line 0" not in again
    print(
        f"\nline counts: {records} records read at start in {seconds:.1f} s "
        f"({records / seconds:,.0f}/s); capped to {len(again)} keys, "
        f"{book.evicted} tombstones"
    )

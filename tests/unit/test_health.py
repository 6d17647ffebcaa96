"""What /healthz and /readyz answer, from the worker's own view of itself."""

from __future__ import annotations

from typing import NamedTuple

from agents.health import BROKER_FRESH_S, STALL_S, Health


class TP(NamedTuple):
    topic: str
    partition: int


def _health() -> Health:
    return Health(models=["ner", "stance"], input_topic="articles.raw", last_tick=100.0)


def test_ready_needs_the_group_and_a_recent_broker_answer() -> None:
    health = _health()
    ready, state = health.readiness(now=100.0)
    assert not ready and state["joined"] is False and state["broker_reachable"] is False
    health.assigned({TP("articles.raw", 0), TP("articles.raw", 1), TP("other", 0)})
    assert not health.readiness(now=100.0)[0]  # joined, but the broker never answered
    health.broker_answered, health.broker_error = 100.0, None
    ready, state = health.readiness(now=101.0)
    assert ready and state["input_partitions"] == 2 and state["models"] == ["ner", "stance"]
    # An answer too old no longer counts, and says what the last failure was.
    health.broker_error = "KafkaConnectionError"
    ready, state = health.readiness(now=100.0 + BROKER_FRESH_S + 1)
    assert not ready and state["broker_error"] == "KafkaConnectionError"


def test_a_rebalance_or_an_open_breaker_makes_the_worker_unready() -> None:
    health = _health()
    health.assigned(set())  # a worker beyond the partition count: joined, nothing to do
    health.broker_answered = 100.0
    assert health.readiness(now=100.0)[0]
    health.revoked()
    assert not health.readiness(now=100.0)[0]
    health.assigned({TP("articles.raw", 3)})
    health.breaker = "entities: 32 failures in a row"
    ready, state = health.readiness(now=100.0)
    assert not ready and state["breaker"].startswith("entities")


def test_alive_until_the_event_loop_stalls() -> None:
    health = _health()
    assert health.liveness(now=101.0) == (True, {"event_loop_stalled_s": 1.0})
    alive, state = health.liveness(now=100.0 + STALL_S + 0.5)
    assert not alive and state["event_loop_stalled_s"] == STALL_S + 0.5

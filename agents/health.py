"""Liveness and readiness of a worker: what ``/healthz`` and ``/readyz`` answer.

Alive means the event loop still turns: a timer ticks every second, and a loop stuck for
``STALL_S`` (a blocking call, a deadlock) fails the check. Ready means the worker can do
its work now: its models are loaded, it has joined the consumer group (an assignment
arrived and no rebalance is under way), and the broker answered a metadata request in the
last ``BROKER_FRESH_S``. An open model breaker makes the worker unready.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaClient
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from agents.security import faust_credentials
from agents.settings import Settings

STALL_S = 30.0
BROKER_FRESH_S = 15.0
PROBE_TIMEOUT_S = 5.0


@dataclass
class Health:
    """What the worker knows about itself; the app's timers and signals keep it current."""

    models: list[str]
    input_topic: str
    last_tick: float = field(default_factory=time.monotonic)
    input_partitions: int | None = None  # None: not in the group, or rebalancing
    broker_answered: float | None = None
    broker_error: str | None = "not asked yet"
    breaker: str | None = None

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    def assigned(self, partitions: set[Any]) -> None:
        self.input_partitions = sum(1 for tp in partitions if tp.topic == self.input_topic)

    def revoked(self) -> None:
        self.input_partitions = None

    def liveness(self, now: float | None = None) -> tuple[bool, dict[str, Any]]:
        stalled_s = (now or time.monotonic()) - self.last_tick
        return stalled_s < STALL_S, {"event_loop_stalled_s": round(stalled_s, 1)}

    def readiness(self, now: float | None = None) -> tuple[bool, dict[str, Any]]:
        now = now or time.monotonic()
        broker = self.broker_answered is not None and now - self.broker_answered < BROKER_FRESH_S
        state = {
            "models": self.models,
            "joined": self.input_partitions is not None,
            "input_partitions": self.input_partitions,
            "broker_reachable": broker,
            "broker_error": None if broker else self.broker_error,
            "breaker": self.breaker,
        }
        ready = state["joined"] and broker and self.breaker is None
        return bool(ready), state


class BrokerProbe:
    """Asks the cluster for its metadata; an answer is proof the broker is reachable."""

    def __init__(self, settings: Settings) -> None:
        self._options = {
            "bootstrap_servers": settings.bootstrap_servers.split(","),
            "client_id": f"stancewire-{settings.app_id}-health",
            "request_timeout_ms": int(PROBE_TIMEOUT_S * 1000),
            **credentials_to_aiokafka_auth(faust_credentials(settings)),
        }
        self._client: AIOKafkaClient | None = None

    async def check(self, health: Health) -> None:
        try:
            client = await self._connected()
            await asyncio.wait_for(client.fetch_all_metadata(), PROBE_TIMEOUT_S)
        except Exception as exc:  # whatever the failure, the broker is not reachable now
            health.broker_error = f"{type(exc).__name__}: {exc}".rstrip(": ")[:300]
            return
        health.broker_answered = time.monotonic()
        health.broker_error = None

    async def close(self) -> None:
        """Close the probe's connection (the worker calls it as it shuts down)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def _connected(self) -> AIOKafkaClient:
        if self._client is None:
            client = AIOKafkaClient(**self._options)
            try:
                await asyncio.wait_for(client.bootstrap(), PROBE_TIMEOUT_S)
            except BaseException:
                await client.close()
                raise
            self._client = client
        return self._client

"""The health page's broker probe closes its connection at shutdown, once."""

from __future__ import annotations

import asyncio

from agents.health import BrokerProbe
from agents.settings import Settings


class _Client:
    def __init__(self) -> None:
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


def test_the_probe_closes_its_client_once() -> None:
    probe = BrokerProbe(Settings())
    client = _Client()
    probe._client = client  # type: ignore[assignment]  # the connection a check opened
    asyncio.run(probe.close())
    asyncio.run(probe.close())
    assert client.closed == 1
    assert probe._client is None
